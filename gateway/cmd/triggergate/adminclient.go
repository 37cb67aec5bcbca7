package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/app"
	"github.com/triggergate/triggergate/gateway/internal/config"
)

// adminClient calls a running gateway's admin API.
type adminClient struct {
	base  string // http://host:port
	token string
	http  *http.Client
}

// newAdminClient reaches the admin API of the gateway cfg describes: at
// addr when given, else at admin_listen; with token when given, else
// $TRIGGERGATE_ADMIN_TOKEN, else the configured or generated one.
func newAdminClient(cfg *config.Config, addr, token string) (*adminClient, error) {
	if addr == "" {
		addr = cfg.Gateway.AdminListen
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("admin address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1" // listening on every address: reach it on loopback
	}
	if token == "" {
		token = os.Getenv("TRIGGERGATE_ADMIN_TOKEN")
	}
	if token == "" {
		if token, err = app.AdminToken(cfg, false); err != nil {
			return nil, err
		}
	}
	return &adminClient{base: "http://" + net.JoinHostPort(host, port), token: token, http: &http.Client{Timeout: 60 * time.Second}}, nil
}

// do sends a request with an optional JSON body and decodes a JSON answer
// into out; an error answer becomes an error with the API's message.
func (c *adminClient) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the admin API at %s (is the gateway running?): %w", c.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading the admin API's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("admin API: %s (%s)", e.Error.Message, resp.Status)
		}
		return fmt.Errorf("admin API answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return errors.Join(errors.New("the admin API's answer does not decode"), err)
	}
	return nil
}
