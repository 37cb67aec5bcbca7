package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/app"
	"github.com/triggergate/triggergate/gateway/internal/config"
)

// adminFlags are the flags of every command that works through the admin
// API: where the configuration is, and how to reach another gateway.
type adminFlags struct {
	config, addr, token *string
}

func addAdminFlags(fs *flag.FlagSet) adminFlags {
	return adminFlags{
		config: fs.String("config", "configs/gateway.hcl", "configuration file or directory (for admin_listen and the token)"),
		addr:   fs.String("admin", "", "admin API address (default: the config's admin_listen)"),
		token:  fs.String("token", "", "admin API token (default: $TRIGGERGATE_ADMIN_TOKEN, admin_token, or <data_dir>/admin-token)"),
	}
}

// client returns the admin API client the flags describe, printing what
// went wrong; the configuration is read only when the address or the
// token is not given otherwise.
func (f adminFlags) client(cmd string, stderr io.Writer) (*adminClient, bool) {
	token := *f.token
	if token == "" {
		token = os.Getenv("TRIGGERGATE_ADMIN_TOKEN")
	}
	cfg := &config.Config{}
	if *f.addr == "" || token == "" {
		var ok bool
		if cfg, ok = load(*f.config, stderr); !ok {
			return nil, false
		}
	}
	c, err := newAdminClient(cfg, *f.addr, token)
	if err != nil {
		fmt.Fprintf(stderr, "triggergate %s: %v\n", cmd, err)
		return nil, false
	}
	return c, true
}

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
	if port == "0" {
		return nil, fmt.Errorf("admin_listen %q picks a random port: give the gateway's admin address with -admin HOST:PORT", addr)
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

// customerPath is the API path of a customer, with the key escaped as
// one path segment ("/" in it becomes %2F).
func customerPath(key string, rest ...string) string {
	return "/v1/customers/" + url.PathEscape(key) + strings.Join(rest, "")
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
		return fmt.Errorf("cannot reach the admin API at %s: is the gateway running? (%w)", strings.TrimPrefix(c.base, "http://"), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading the admin API's answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
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
