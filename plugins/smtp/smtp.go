package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	gomail "github.com/wneessen/go-mail"

	"github.com/triggergate/triggergate/sdk"
)

// Plugin identity, as reported by Describe and sent as the User-Agent.
const (
	pluginName    = "smtp"
	pluginVersion = "0.1.0"
	userAgent     = "triggergate-smtp/" + pluginVersion
)

// Option configures an SMTP channel.
type Option func(*SMTP)

// WithClock replaces the wall clock used for the Date header.
func WithClock(now func() time.Time) Option { return func(s *SMTP) { s.now = now } }

// SMTP is the "smtp" channel. It keeps no per-block state: each batch
// opens its own connection with the config the request carries.
type SMTP struct {
	log    hclog.Logger
	now    func() time.Time
	dialer net.Dialer
}

var _ sdk.Channel = (*SMTP)(nil)

// New builds the channel with the logger the SDK injects.
func New(log hclog.Logger) sdk.Channel { return NewSMTP(log) }

// NewSMTP builds the channel with options.
func NewSMTP(log hclog.Logger, opts ...Option) *SMTP {
	s := &SMTP{log: log, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Describe reports the plugin's identity and config schema.
func (s *SMTP) Describe(context.Context) (*sdk.DescribeResponse, error) {
	return &sdk.DescribeResponse{
		Name:        pluginName,
		Version:     pluginVersion,
		Description: "Sends each message as an email through an SMTP relay (STARTTLS, implicit TLS or plain; SMTP AUTH).",
		Schema:      sdk.SchemaOf(Config{}),
	}, nil
}

// ValidateConfig checks one channel block's config.
func (s *SMTP) ValidateConfig(_ context.Context, req *sdk.ValidateConfigRequest) (*sdk.ValidateConfigResponse, error) {
	_, resp := decodeConfig(req.Config)
	return resp, nil
}

// Send delivers the batch over one SMTP connection and classifies each
// message's outcome.
func (s *SMTP) Send(ctx context.Context, req *sdk.SendRequest) (*sdk.SendResponse, error) {
	results := make([]sdk.SendResult, len(req.Messages))
	cfg, check := decodeConfig(req.Config)
	if check.Diagnostics.HasErrors() {
		err := fmt.Errorf("channel %q is misconfigured: %s", req.Channel, check.Diagnostics[0].Summary)
		for i := range results {
			results[i] = sdk.Fail(err)
		}
		return &sdk.SendResponse{Results: results}, nil
	}

	now := s.now()
	var (
		msgs []*gomail.Msg
		idx  []int // idx[k] is the request index of msgs[k]
	)
	for i := range req.Messages {
		msg, err := buildMsg(cfg, &req.Messages[i], now)
		if err != nil {
			results[i] = sdk.Fail(err)
			continue
		}
		msgs = append(msgs, msg)
		idx = append(idx, i)
	}
	if len(msgs) == 0 {
		return &sdk.SendResponse{Results: results}, nil
	}

	var batchErr error
	if err := ctx.Err(); err != nil {
		batchErr = err
	} else {
		batchErr = s.deliver(ctx, cfg, msgs)
	}
	for k, msg := range msgs {
		i := idx[k]
		results[i] = outcome(ctx, cfg, msg, batchErr)
		s.log.Debug("smtp attempted", "channel", req.Channel, "message_id", req.Messages[i].ID,
			"status", results[i].Status.String(), "error", results[i].Error, "reply", msg.ServerResponse())
	}
	return &sdk.SendResponse{Results: results}, nil
}

// deliver sends msgs over one connection. It returns the error that ended
// the session early, if any; each message records its own outcome.
func (s *SMTP) deliver(ctx context.Context, cfg *Config, msgs []*gomail.Msg) error {
	tlsConf := &tls.Config{ServerName: cfg.serverName(), RootCAs: cfg.rootCAs, MinVersion: tls.VersionTLS12}
	var conn *cancelConn
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		raw, err := s.dialer.DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		conn = newCancelConn(ctx, raw)
		if cfg.TLS != tlsImplicit {
			return conn, nil
		}
		// A *tls.Conn, so that go-mail knows the session is encrypted.
		tc := tls.Client(conn, tlsConf)
		if err := tc.HandshakeContext(dctx); err != nil {
			return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
		}
		return tc, nil
	}
	opts := []gomail.Option{
		gomail.WithPort(cfg.Port),
		gomail.WithTimeout(cfg.Timeout.D()),
		gomail.WithDialContextFunc(dial),
		gomail.WithTLSConfig(tlsConf),
	}
	if cfg.TLS == tlsStartTLS {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	} else {
		// dial does the TLS of tls = "tls"; go-mail only does STARTTLS.
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(cfg.HELO))
	}
	if cfg.Username != "" {
		mechs := []gomail.SMTPAuthType{gomail.SMTPAuthPlain, gomail.SMTPAuthLogin}
		if cfg.TLS == tlsNone {
			// go-mail refuses PLAIN and LOGIN in clear text unless told;
			// Validate warned the admin.
			mechs = []gomail.SMTPAuthType{gomail.SMTPAuthPlainNoEnc, gomail.SMTPAuthLoginNoEnc}
		}
		opts = append(opts, gomail.WithOpportunisticSMTPAuth(mechs...),
			gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	client, err := gomail.NewClient(cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("setting up the SMTP client: %w", err)
	}
	err = client.DialAndSendWithContext(ctx, msgs...)
	if conn != nil {
		// go-mail leaves the connection open when the session fails
		// before the first message (e.g. no STARTTLS); after QUIT this is
		// a no-op.
		conn.stop()
		_ = conn.Close()
	}
	return err
}

// cancelConn is a connection that stops all I/O once ctx ends: go-mail
// honours ctx only while dialling, and extends deadlines before each
// command, so the deadline is pinned to the past after cancellation.
type cancelConn struct {
	net.Conn
	mu        sync.Mutex
	cancelled bool
	stopFunc  func() bool
}

// newCancelConn wraps c until stop is called.
func newCancelConn(ctx context.Context, c net.Conn) *cancelConn {
	cc := &cancelConn{Conn: c}
	cc.stopFunc = context.AfterFunc(ctx, cc.cancel)
	return cc
}

// pastDeadline has always passed: it fails pending and later I/O at once.
var pastDeadline = time.Unix(1, 0)

func (c *cancelConn) cancel() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cancelled = true
	_ = c.Conn.SetDeadline(pastDeadline)
}

func (c *cancelConn) stop() { c.stopFunc() }

func (c *cancelConn) pin(t time.Time) time.Time {
	if c.cancelled {
		return pastDeadline
	}
	return t
}

// SetDeadline sets the deadline unless ctx has ended.
func (c *cancelConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetDeadline(c.pin(t))
}

// SetReadDeadline sets the read deadline unless ctx has ended.
func (c *cancelConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetReadDeadline(c.pin(t))
}

// SetWriteDeadline sets the write deadline unless ctx has ended.
func (c *cancelConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetWriteDeadline(c.pin(t))
}
