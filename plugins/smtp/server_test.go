package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// received is one message the test server accepted.
type received struct {
	from string
	to   []string
	data []byte
	user string // the authenticated user, if any
	tls  bool   // whether the session was encrypted
}

// serverOptions shape a test server.
type serverOptions struct {
	startTLS bool // offer STARTTLS
	implicit bool // TLS from the first byte
	// user and pass, when set, make AUTH PLAIN mandatory before MAIL.
	user, pass string
	// rcptErr answers RCPT TO for an address with an SMTP error.
	rcptErr map[string]*smtp.SMTPError
	// onRcpt, when set, runs before RCPT TO is answered.
	onRcpt func(to string)
}

// testServer is an in-process SMTP server on 127.0.0.1 that records what it
// receives.
type testServer struct {
	opts   serverOptions
	host   string
	port   int
	caFile string // PEM of the server's self-signed certificate

	mu       sync.Mutex
	sessions int
	msgs     []received
}

// newServer starts a server for the test; it stops with the test.
func newServer(t *testing.T, opts serverOptions) *testServer {
	t.Helper()
	ts := &testServer{opts: opts}
	cert, caFile := selfSigned(t)
	ts.caFile = caFile

	srv := smtp.NewServer(ts)
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if opts.startTLS {
		srv.TLSConfig = tlsConf
	}
	if !opts.startTLS && !opts.implicit {
		srv.AllowInsecureAuth = true
	}
	var (
		l   net.Listener
		err error
	)
	if opts.implicit {
		l, err = tls.Listen("tcp", "127.0.0.1:0", tlsConf)
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().(*net.TCPAddr)
	ts.host, ts.port = addr.IP.String(), addr.Port
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return ts
}

// config is a channel config pointing at the server.
func (ts *testServer) config(extra map[string]any) map[string]any {
	cfg := map[string]any{
		"host": ts.host, "port": ts.port, "from": "Shop <hello@shop.example>",
		"ca_file": ts.caFile, "timeout": "5s", "helo": "gateway.test",
	}
	switch {
	case ts.opts.implicit:
		cfg["tls"] = "tls"
	case ts.opts.startTLS:
		cfg["tls"] = "starttls"
	default:
		cfg["tls"] = "none"
		delete(cfg, "ca_file")
	}
	for k, v := range extra {
		cfg[k] = v
	}
	return cfg
}

// received returns what the server accepted so far.
func (ts *testServer) received() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]received(nil), ts.msgs...)
}

// sessionCount is the number of SMTP sessions opened so far.
func (ts *testServer) sessionCount() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.sessions
}

// NewSession implements smtp.Backend.
func (ts *testServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	ts.mu.Lock()
	ts.sessions++
	ts.mu.Unlock()
	return &session{ts: ts, conn: c}, nil
}

// session is one SMTP session of the test server.
type session struct {
	ts   *testServer
	conn *smtp.Conn
	user string
	cur  received
}

var _ smtp.AuthSession = (*session)(nil)

func (s *session) AuthMechanisms() []string {
	if s.ts.opts.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.ts.opts.user || pass != s.ts.opts.pass {
			return smtp.ErrAuthFailed
		}
		s.user = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.ts.opts.user != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.cur = received{from: from, user: s.user, tls: isTLS}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.ts.opts.onRcpt != nil {
		s.ts.opts.onRcpt(to)
	}
	if e, ok := s.ts.opts.rcptErr[to]; ok {
		return e
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(s.cur.to) == 0 {
		return errors.New("no recipients")
	}
	s.cur.data = b
	s.ts.mu.Lock()
	s.ts.msgs = append(s.ts.msgs, s.cur)
	s.ts.mu.Unlock()
	s.cur = received{}
	return nil
}

func (s *session) Reset()        { s.cur = received{} }
func (s *session) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and localhost and writes it
// as a PEM CA bundle into the test's temp dir.
func selfSigned(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "triggergate test relay"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, path
}

// closedPort returns a local port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}
