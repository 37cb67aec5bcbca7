package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/triggergate/triggergate/sdk"
	"github.com/triggergate/triggergate/sdk/plugintest"
)

func TestSendClassifies(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Idempotency-Key") == "msg_busy" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	ch := plugintest.Channel(t, New(hclog.NewNullLogger()))
	resp, err := ch.Send(context.Background(), &sdk.SendRequest{
		Channel:  "ops",
		Config:   plugintest.MustConfig(t, map[string]any{"url": srv.URL}),
		Messages: []sdk.Message{{ID: "msg_ok", Attempt: 1}, {ID: "msg_busy", Attempt: 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Results[0].Status; got != sdk.StatusOK {
		t.Errorf("msg_ok: %s, want ok", got)
	}
	if got := resp.Results[1].Status; got != sdk.StatusRetryable {
		t.Errorf("msg_busy: %s, want retryable", got)
	}
}
