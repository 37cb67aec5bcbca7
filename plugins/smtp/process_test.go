package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

// TestPluginProcess builds the plugin binary and runs it the way the gateway
// does, sending one message through the real process over STARTTLS.
func TestPluginProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and launches the plugin binary")
	}
	t.Parallel()
	srv := newServer(t, serverOptions{startTLS: true, user: "mailer", pass: "s3cret"})
	ch := plugintest.ChannelProcess(t)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := ch.Describe(ctx)
	if err != nil || d.Name != pluginName {
		t.Fatalf("Describe = %+v, %v", d, err)
	}
	cfg := plugintest.MustConfig(t, srv.config(map[string]any{"username": "mailer", "password": "s3cret"}))
	resp, err := ch.Send(ctx, &sdk.SendRequest{Channel: "email", Config: cfg, Messages: []sdk.Message{message("msg_proc", "jane@example.com")}})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if r := resp.Results[0]; r.Status != sdk.StatusOK || r.ProviderID != "<msg_proc@shop.example>" {
		t.Fatalf("result = %+v", r)
	}
	got := srv.received()
	if len(got) != 1 || !got[0].tls || got[0].user != "mailer" || !bytes.Contains(got[0].data, []byte("X-Triggergate-Message-Id: msg_proc")) {
		t.Fatalf("received %+v", got)
	}
}
