package httpchannel

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/sdk"
)

var fixedNow = time.Date(2026, 11, 22, 10, 0, 5, 0, time.UTC)

func TestCheckAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr    string
		blocked bool
	}{
		{"8.8.8.8", false},
		{"1.1.1.1", false},
		{"93.184.216.34", false},
		{"2606:4700:4700::1111", false},
		{"2001:4860:4860::8888", false},
		{"::ffff:8.8.8.8", false},
		{"64:ff9b::808:808", false}, // NAT64 of 8.8.8.8
		{"127.0.0.1", true},
		{"127.1.2.3", true},
		{"::1", true},
		{"::ffff:127.0.0.1", true},
		{"10.0.0.1", true},
		{"172.16.5.4", true},
		{"172.31.255.255", true},
		{"192.168.1.1", true},
		{"fc00::1", true},
		{"fd12:3456::1", true},
		{"169.254.169.254", true},
		{"169.254.0.1", true},
		{"fe80::1", true},
		{"0.0.0.0", true},
		{"::", true},
		{"0.1.2.3", true},
		{"224.0.0.1", true},
		{"239.255.255.250", true},
		{"ff02::1", true},
		{"ff05::2", true},
		{"100.64.0.1", true},
		{"100.127.255.254", true},
		{"255.255.255.255", true},
		{"198.18.0.1", true},
		{"::ffff:169.254.169.254", true},
		{"64:ff9b::a9fe:a9fe", true}, // NAT64 of 169.254.169.254
		{"64:ff9b::7f00:1", true},    // NAT64 of 127.0.0.1
		{"2002:a00:1::", true},       // 6to4 of 10.0.0.1
		{"::7f00:1", true},           // IPv4-compatible 127.0.0.1
		{"172.32.0.1", false},
		{"100.128.0.1", false},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			t.Parallel()
			err := CheckAddr(netip.MustParseAddr(tc.addr))
			if (err != nil) != tc.blocked {
				t.Errorf("CheckAddr(%s) = %v, want blocked=%v", tc.addr, err, tc.blocked)
			}
			// The dial-time hook sees "ip:port" after resolution.
			derr := dialControl("tcp", netip.AddrPortFrom(netip.MustParseAddr(tc.addr), 443).String(), nil)
			if (derr != nil) != tc.blocked {
				t.Errorf("dialControl(%s) = %v, want blocked=%v", tc.addr, derr, tc.blocked)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-5", 0},
		{"3601", time.Hour},
		{"99999999999999999999", 0},
		{fixedNow.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{fixedNow.Add(-time.Minute).Format(http.TimeFormat), 0},
		{fixedNow.Add(48 * time.Hour).Format(http.TimeFormat), time.Hour},
		{"soon", 0},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			if got := ParseRetryAfter(tc.in, fixedNow); got != tc.want {
				t.Errorf("ParseRetryAfter(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

// A transport error names what failed, not the URL, which may hold a
// secret.
func TestDoKeepsTheURLOutOfErrors(t *testing.T) {
	t.Parallel()
	client := NewClient(Options{AllowPrivateNetworks: true})
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/services/T000/B000/s3cr3tt0k3n?key=k3y", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, answer := Do(t.Context(), client, req, time.Second, fixedNow)
	if answer.StatusCode != 0 || answer.Body != nil {
		t.Errorf("answer = %+v, want none", answer)
	}
	if res.Status != sdk.StatusRetryable || strings.Contains(res.Error, "s3cr3t") || strings.Contains(res.Error, "k3y") ||
		!strings.Contains(res.Error, "connection refused") {
		t.Errorf("result = %+v", res)
	}
	blocked := NewClient(Options{})
	res, _ = Do(t.Context(), blocked, req, time.Second, fixedNow)
	if res.Status != sdk.StatusPermanent || strings.Contains(res.Error, "s3cr3t") || !strings.Contains(res.Error, "loopback") {
		t.Errorf("blocked result = %+v", res)
	}
}

func TestSendAll(t *testing.T) {
	t.Parallel()
	msgs := make([]sdk.Message, 6)
	for i := range msgs {
		msgs[i].ID = string(rune('a' + i))
	}
	// Results keep the batch's order.
	res := SendAll(t.Context(), msgs, 3, func(_ context.Context, m *sdk.Message) (sdk.SendResult, bool) {
		return sdk.Sent("p-" + m.ID), false
	})
	for i, r := range res {
		if r.ProviderID != "p-"+msgs[i].ID {
			t.Fatalf("result %d = %+v", i, r)
		}
	}
	// A provider asking to slow down stops the messages not yet started.
	res = SendAll(t.Context(), msgs, 1, func(_ context.Context, m *sdk.Message) (sdk.SendResult, bool) {
		if m.ID == "b" {
			return sdk.Retry(errors.New("429"), 7*time.Second), true
		}
		return sdk.Sent(""), false
	})
	if res[0].Status != sdk.StatusOK || res[1].RetryAfter != 7*time.Second {
		t.Fatalf("first results = %+v", res[:2])
	}
	for _, r := range res[2:] {
		if r.Status != sdk.StatusRetryable || r.RetryAfter != 7*time.Second || !strings.Contains(r.Error, "not sent") {
			t.Fatalf("after the stop: %+v", r)
		}
	}
	// A cancelled batch sends nothing more.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res = SendAll(ctx, msgs, 2, func(context.Context, *sdk.Message) (sdk.SendResult, bool) {
		t.Error("sent after cancellation")
		return sdk.Sent(""), false
	})
	for _, r := range res {
		if r.Status != sdk.StatusRetryable {
			t.Fatalf("cancelled: %+v", r)
		}
	}
}
