package tracking

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"time"

	"github.com/gorilla/mux"
	"github.com/hashicorp/go-hclog"
	"github.com/oklog/ulid/v2"

	"github.com/triggergate/triggergate/sdk"
)

// Recorder takes the events tracking produces; the gateway appends them to
// the durable event log.
type Recorder interface {
	Record(ctx context.Context, ev sdk.Event) error
}

// The event types tracking records, and the source it records them as.
const (
	TypeClicked      = "email.clicked"
	TypeOpened       = "email.opened"
	TypeUnsubscribed = "email.unsubscribed"
	// Source is both the Source and the SourceKind of tracking's events.
	Source = "tracking"
)

const (
	// bestEffortTimeout bounds recording a click or an open: the customer
	// waits for it, and losing one is tolerable.
	bestEffortTimeout = 2 * time.Second
	// unsubscribeTimeout bounds recording an unsubscribe, which must not be
	// lost: longer, and answered 503 when it runs out.
	unsubscribeTimeout = 10 * time.Second
	// maxBodyBytes limits an unsubscribe POST; RFC 8058's body is 26 bytes.
	maxBodyBytes = 8 << 10
	oneClickBody = "List-Unsubscribe=One-Click"
)

// Handler serves the tracking routes.
type Handler struct {
	signer *Signer
	rec    Recorder
	logger hclog.Logger
	now    func() time.Time
	sender string
	maxAge time.Duration
}

// Option configures a Handler.
type Option func(*Handler)

// WithClock injects the clock for event times and token expiry.
func WithClock(now func() time.Time) Option { return func(h *Handler) { h.now = now } }

// WithSenderName names the sender on the unsubscribe pages ("Acme").
func WithSenderName(name string) Option { return func(h *Handler) { h.sender = name } }

// WithMaxAge makes click and open tokens whose IssuedAt is older than d
// answer 404, so a forwarded or leaked email stops adding engagement after
// a while. Unsubscribe tokens never expire: an opt-out must keep working
// (CAN-SPAM asks for at least 30 days), and honouring an old one is always
// right. Zero (the default) means no expiry.
func WithMaxAge(d time.Duration) Option { return func(h *Handler) { h.maxAge = d } }

// NewHandler returns the handler for tokens signed by s, recording events
// into rec.
func NewHandler(s *Signer, rec Recorder, logger hclog.Logger, opts ...Option) *Handler {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	h := &Handler{signer: s, rec: rec, logger: logger, now: time.Now}
	for _, o := range opts {
		o(h)
	}
	return h
}

// Register mounts the routes on r: GET /t/c/{token} (click), GET
// /t/o/{token} (open pixel), GET and POST /t/u/{token} (unsubscribe). HEAD
// is answered like GET but records nothing.
func (h *Handler) Register(r *mux.Router) {
	r.HandleFunc(clickPath+"{token}", h.click).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(openPath+"{token}", h.open).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(unsubscribePath+"{token}", h.unsubscribePage).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc(unsubscribePath+"{token}", h.unsubscribe).Methods(http.MethodPost)
}

// claims parses the route's token and checks it is of the route's kind and
// not expired; on failure it has answered the generic 404.
func (h *Handler) claims(w http.ResponseWriter, r *http.Request, kind Kind) (Claims, sdk.Customer, bool) {
	c, err := h.signer.Parse(mux.Vars(r)["token"])
	if err == nil && c.Kind != kind {
		err = ErrInvalidToken
	}
	if err == nil && kind != KindUnsubscribe && h.maxAge > 0 && !c.IssuedAt.IsZero() && h.now().Sub(c.IssuedAt) > h.maxAge {
		err = ErrInvalidToken
	}
	var cust sdk.Customer
	if err == nil {
		cust, err = sdk.ParseCustomerKey(c.Customer)
	}
	if err != nil {
		h.logger.Debug("tracking link refused", "route", string(kind), "error", err)
		notFound(w)
		return Claims{}, sdk.Customer{}, false
	}
	return c, cust, true
}

func (h *Handler) click(w http.ResponseWriter, r *http.Request) {
	c, cust, ok := h.claims(w, r, KindClick)
	if !ok {
		return
	}
	// Parse has checked the URL already; check again right where it is
	// followed, so no change to Parse can turn this into an open redirect.
	if !trackableURL(c.URL) {
		notFound(w)
		return
	}
	if r.Method == http.MethodGet {
		sum := sha256.Sum256([]byte(c.URL))
		ev := h.event(TypeClicked, "click:"+c.MessageID+":"+hex.EncodeToString(sum[:])[:12], c, cust)
		ev.Properties["url"] = c.URL
		h.recordBestEffort(r, ev)
	}
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, c.URL, http.StatusFound)
}

func (h *Handler) open(w http.ResponseWriter, r *http.Request) {
	c, cust, ok := h.claims(w, r, KindOpen)
	if !ok {
		return
	}
	if r.Method == http.MethodGet {
		h.recordBestEffort(r, h.event(TypeOpened, "open:"+c.MessageID, c, cust))
	}
	hd := w.Header()
	hd.Set("Content-Type", "image/gif")
	hd.Set("Cache-Control", "no-store, no-cache, must-revalidate, max-age=0")
	hd.Set("Pragma", "no-cache")
	hd.Set("Expires", "0")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(pixelGIF)
}

// unsubscribePage asks to confirm. It never unsubscribes: scanners and
// link previews GET every URL in a message.
func (h *Handler) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := h.claims(w, r, KindUnsubscribe); !ok {
		return
	}
	writePage(w, http.StatusOK, page{
		Title:   "Unsubscribe?",
		Message: h.question(),
		Form:    true,
	})
}

// unsubscribe takes an RFC 8058 one-click POST or the confirmation page's
// form. Every POST with a valid token unsubscribes: only the recipient
// holds the token, and refusing an opt-out is never the safe choice.
func (h *Handler) unsubscribe(w http.ResponseWriter, r *http.Request) {
	c, cust, ok := h.claims(w, r, KindUnsubscribe)
	if !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writePage(w, http.StatusRequestEntityTooLarge, page{Title: "Request too large", Message: "Please use the unsubscribe button on the page instead."})
			return
		}
		writePage(w, http.StatusBadRequest, page{Title: "Something went wrong", Message: "Please try again."})
		return
	}
	ev := h.event(TypeUnsubscribed, "unsubscribe:"+c.MessageID, c, cust)
	ev.Properties["one_click"] = isOneClick(r.Header.Get("Content-Type"), body)

	// The customer's hanging up must not cancel an unsubscribe half-way.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), unsubscribeTimeout)
	defer cancel()
	if err := h.rec.Record(ctx, ev); err != nil {
		h.logger.Error("recording an unsubscribe failed; the customer was asked to retry",
			"message_id", c.MessageID, "event_id", ev.ID, "error", err)
		w.Header().Set("Retry-After", "30")
		writePage(w, http.StatusServiceUnavailable, page{
			Title:   "Please try again",
			Message: "We could not process your request just now. Please try again in a few minutes.",
			Form:    true,
		})
		return
	}
	h.logger.Info("customer unsubscribed", "message_id", c.MessageID, "event_id", ev.ID, "one_click", ev.Properties["one_click"])
	writePage(w, http.StatusOK, page{Title: "You are unsubscribed", Message: h.done()})
}

// isOneClick reports whether body is RFC 8058's List-Unsubscribe=One-Click,
// sent form-encoded or as multipart/form-data.
func isOneClick(contentType string, body []byte) bool {
	mt, params, _ := mime.ParseMediaType(contentType)
	if mt == "multipart/form-data" && params["boundary"] != "" {
		form, err := multipart.NewReader(bytes.NewReader(body), params["boundary"]).ReadForm(maxBodyBytes)
		if err != nil {
			return false
		}
		defer func() { _ = form.RemoveAll() }()
		return len(form.Value["List-Unsubscribe"]) > 0 && form.Value["List-Unsubscribe"][0] == "One-Click"
	}
	// Form-encoded, or a receiver that sent the body with another type.
	if v, err := url.ParseQuery(string(bytes.TrimSpace(body))); err == nil {
		return v.Get("List-Unsubscribe") == "One-Click"
	}
	return string(bytes.TrimSpace(body)) == oneClickBody
}

func (h *Handler) event(typ, deliveryID string, c Claims, cust sdk.Customer) sdk.Event {
	now := h.now().UTC()
	props := map[string]any{
		"message_id": c.MessageID,
		"trigger":    c.Trigger,
		"step":       c.Step,
		"channel":    c.Channel,
	}
	if c.Variant != "" {
		props["variant"] = c.Variant
	}
	return sdk.Event{
		ID:         ulid.MustNew(ulid.Timestamp(now), ulid.DefaultEntropy()).String(),
		Type:       typ,
		Source:     Source,
		SourceKind: Source,
		DeliveryID: deliveryID,
		OccurredAt: now,
		ReceivedAt: now,
		Customer:   cust,
		Properties: props,
	}
}

// recordBestEffort records ev within bestEffortTimeout, logging a failure:
// the customer gets their page or pixel either way.
func (h *Handler) recordBestEffort(r *http.Request, ev sdk.Event) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), bestEffortTimeout)
	defer cancel()
	if err := h.rec.Record(ctx, ev); err != nil {
		h.logger.Warn("recording a tracking event failed", "type", ev.Type,
			"message_id", ev.Properties["message_id"], "error", err)
	}
}

func (h *Handler) question() string {
	if h.sender == "" {
		return "Do you want to stop receiving marketing emails like this one? Emails about your orders and your account will still reach you."
	}
	return "Do you want to stop receiving marketing emails from " + h.sender + "? Emails about your orders and your account will still reach you."
}

func (h *Handler) done() string {
	if h.sender == "" {
		return "You will not receive marketing emails like this one any more. Emails about your orders and your account will still reach you."
	}
	return "You will not receive marketing emails from " + h.sender + " any more. Emails about your orders and your account will still reach you."
}
