// Package httpchannel is for channel plugins that deliver over HTTP: an
// HTTP client that refuses to connect anywhere but the public internet
// (checked at dial time, after DNS resolution) and follows no redirects,
// and the classification of a provider's answer into an sdk.SendResult
// (sent, retryable with Retry-After, or permanent).
//
//	client := httpchannel.NewClient(httpchannel.Options{AllowPrivateNetworks: cfg.AllowPrivateNetworks})
//	res, body := httpchannel.Do(ctx, client, req, timeout, now)
//
// The built-in webhook, slack and twilio channels use it.
package httpchannel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/triggergate/triggergate/sdk"
)

// Limits that protect the gateway from slow or hostile providers.
const (
	// MaxRetryAfter caps the delay a provider may ask for.
	MaxRetryAfter = time.Hour
	// MaxResponseBody is how much of a response Do reads before it drops
	// the connection.
	MaxResponseBody = 64 << 10
	// maxErrorBody is how much of a response is quoted in an error.
	maxErrorBody = 256
)

// Options configure NewClient.
type Options struct {
	// AllowPrivateNetworks lifts the address check, for providers on the
	// operator's own network (and tests).
	AllowPrivateNetworks bool
	// MaxIdleConnsPerHost keeps connections open between messages
	// (default 32: the host sends several batches at once).
	MaxIdleConnsPerHost int
}

// NewClient returns a client that dials only public addresses (unless
// allowed otherwise), uses no proxy (a proxy would dial on our behalf and
// bypass the check), and never follows redirects: the target of a redirect
// could be anywhere, so a 3xx is returned as it is and Classify makes it a
// permanent failure. Share one client per policy so connections are
// reused.
func NewClient(o Options) *http.Client {
	idle := o.MaxIdleConnsPerHost
	if idle <= 0 {
		idle = 32
	}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           newDialer(o.AllowPrivateNetworks).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   idle,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Response is what Do read of a provider's answer.
type Response struct {
	// StatusCode is the HTTP status; 0 when no answer came (a transport
	// failure).
	StatusCode int
	// Body is the start of the body, at most MaxResponseBody bytes (e.g.
	// for the provider's message id); nil when no answer came.
	Body []byte
}

// Do sends req with client, allowing timeout for the whole exchange, and
// classifies the outcome. now is the clock Retry-After dates are read
// against. Errors never quote the request URL, which may hold a secret
// (a Slack webhook's token, a query-string key).
func Do(ctx context.Context, client *http.Client, req *http.Request, timeout time.Duration, now time.Time) (sdk.SendResult, Response) {
	rctx, cancel := context.WithTimeout(req.Context(), timeout)
	defer cancel()
	resp, err := client.Do(req.WithContext(rctx))
	if err != nil {
		return ClassifyError(ctx, err, timeout), Response{}
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody))
	_ = resp.Body.Close()
	if body == nil {
		body = []byte{}
	}
	return ClassifyResponse(resp, body, now), Response{StatusCode: resp.StatusCode, Body: body}
}

// ClassifyError turns a transport failure into a result. Refused addresses
// are permanent; timeouts, cancellations and network errors are retryable.
// ctx is the caller's context: when it is done, the host stopped the send.
func ClassifyError(ctx context.Context, err error, timeout time.Duration) sdk.SendResult {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		// "Post \"https://hooks.example.com/T/B/secret\": ..." → "post: ..."
		err = fmt.Errorf("%s: %w", strings.ToLower(uerr.Op), uerr.Err)
	}
	var netErr net.Error
	switch {
	case errors.Is(err, ErrBlockedAddress):
		return sdk.Fail(err)
	case ctx.Err() != nil:
		return sdk.Retry(fmt.Errorf("delivery interrupted: %w", ctx.Err()), 0)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return sdk.Retry(fmt.Errorf("no response within %s: %w", timeout, err), 0)
	}
	return sdk.Retry(err, 0)
}

// ClassifyResponse turns an HTTP response into a result: 2xx is sent; 408,
// 425, 429 and 5xx are retryable, with Retry-After passed on; 3xx, 410
// and other 4xx are permanent. body is quoted in errors.
func ClassifyResponse(resp *http.Response, body []byte, now time.Time) sdk.SendResult {
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return sdk.Sent("")
	case code >= 300 && code < 400:
		return sdk.Fail(fmt.Errorf("provider answered %s redirecting to %q; redirects are not followed, update the url",
			resp.Status, resp.Header.Get("Location")))
	case code == http.StatusRequestTimeout, code == http.StatusTooEarly, code == http.StatusTooManyRequests, code >= 500:
		return sdk.Retry(fmt.Errorf("provider answered %s%s", resp.Status, Quote(body)),
			ParseRetryAfter(resp.Header.Get("Retry-After"), now))
	case code == http.StatusGone:
		return sdk.Fail(fmt.Errorf("provider answered %s: the endpoint no longer exists; remove or update the channel", resp.Status))
	case code >= 400:
		return sdk.Fail(fmt.Errorf("provider answered %s%s", resp.Status, Quote(body)))
	}
	return sdk.Retry(fmt.Errorf("provider answered unexpected status %s", resp.Status), 0)
}

// Quote formats the start of a response body for an error message: ": "
// and a quoted, valid UTF-8 string of at most 256 bytes; empty for an
// empty body.
func Quote(body []byte) string {
	if len(body) == 0 {
		return ""
	}
	if len(body) > maxErrorBody {
		body = body[:maxErrorBody]
	}
	s := strings.ToValidUTF8(string(body), string(utf8.RuneError))
	return ": " + strconv.Quote(strings.TrimSpace(s))
}

// ParseRetryAfter reads a Retry-After header, in seconds or as an HTTP
// date, capped at MaxRetryAfter. Zero means none or unreadable.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), MaxRetryAfter)
}
