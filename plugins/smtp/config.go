package main

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/mail"
	"os"
	"strings"
	"time"

	"github.com/triggergate/triggergate/sdk"
)

// TLS modes of the tls attribute.
const (
	tlsStartTLS = "starttls"
	tlsImplicit = "tls"
	tlsNone     = "none"
)

// Defaults and limits of the config.
const (
	defaultPort    = 587
	defaultTimeout = 30 * time.Second
	maxTimeout     = 5 * time.Minute
)

// Config is one channel block's config.
type Config struct {
	// Host is the relay's name or IP address.
	Host string `hcl:"host" doc:"SMTP relay to send through: a host name or IP address, without the port."`
	// Port is the relay's TCP port.
	Port int `hcl:"port,optional" doc:"TCP port of the relay. Default 587 (submission); use 465 with tls = \"tls\", 25 or 1025 for local dev servers."`
	// TLS says how the connection is encrypted.
	TLS string `hcl:"tls,optional" doc:"\"starttls\" (default): upgrade with STARTTLS and fail when the server does not offer it; \"tls\": implicit TLS from the first byte (port 465); \"none\": plain text, for local dev servers only."`
	// Username and Password authenticate with SMTP AUTH.
	Username string `hcl:"username,optional" doc:"SMTP AUTH user name. Default: no authentication."`
	Password string `hcl:"password,optional" doc:"SMTP AUTH password; required with username. Use env(\"...\") rather than writing it in the file."`
	// From is the sender of every message.
	From string `hcl:"from" doc:"Sender address, RFC 5322, e.g. \"Shop <hello@example.com>\". Its domain is also the right-hand side of Message-ID."`
	// ReplyTo is where replies go when not to From.
	ReplyTo string `hcl:"reply_to,optional" doc:"Reply-To address, RFC 5322. Default: none (replies go to from)."`
	// Timeout bounds dialling and each SMTP command.
	Timeout sdk.Duration `hcl:"timeout,optional" doc:"Time allowed to connect and for each SMTP command. Default \"30s\", at most \"5m\"."`
	// HELO is the name the plugin greets the server with.
	HELO string `hcl:"helo,optional" doc:"Name sent with EHLO/HELO. Default: the machine's host name."`
	// CAFile adds trusted roots for relays with a private CA.
	CAFile string `hcl:"ca_file,optional" doc:"PEM file of extra trusted CA certificates, added to the system roots. For relays with a private or self-signed certificate."`
	// TLSServerName overrides the name checked in the server certificate.
	TLSServerName string `hcl:"tls_server_name,optional" doc:"Name to verify the server certificate against. Default: host."`

	// from and replyTo are From and ReplyTo parsed; replyTo is nil when unset.
	from, replyTo *mail.Address
	// rootCAs are the system roots plus CAFile's; nil means the system roots.
	rootCAs *x509.CertPool
}

// Validate checks what the struct tags cannot express, parses the
// addresses and loads ca_file.
func (c *Config) Validate() sdk.Diagnostics {
	var diags sdk.Diagnostics
	if err := checkHost(c.Host); err != nil {
		diags = append(diags, sdk.Errorf(sdk.Attr("host"), "%s", err))
	}
	if c.Port < 1 || c.Port > 65535 {
		diags = append(diags, sdk.Errorf(sdk.Attr("port"), "port must be between 1 and 65535, got %d", c.Port))
	}
	switch c.TLS {
	case tlsStartTLS, tlsImplicit:
	case tlsNone:
		if c.Username != "" {
			diags = append(diags, sdk.Diagnostic{
				Severity: sdk.SeverityWarning, Path: sdk.Attr("tls"),
				Summary: "tls = \"none\" sends the username and password in plain text; use \"starttls\" or \"tls\" outside local development",
			})
		}
	default:
		diags = append(diags, sdk.Errorf(sdk.Attr("tls"), "tls must be \"starttls\", \"tls\" or \"none\", got %q", c.TLS))
	}
	switch {
	case c.Username != "" && c.Password == "":
		diags = append(diags, sdk.Errorf(sdk.Attr("password"), "password is required with username"))
	case c.Username == "" && c.Password != "":
		diags = append(diags, sdk.Errorf(sdk.Attr("username"), "username is required with password"))
	}
	from, err := parseAddress(c.From)
	if err != nil {
		diags = append(diags, sdk.Errorf(sdk.Attr("from"), "from: %s", err))
	}
	c.from = from
	if c.ReplyTo != "" {
		replyTo, err := parseAddress(c.ReplyTo)
		if err != nil {
			diags = append(diags, sdk.Errorf(sdk.Attr("reply_to"), "reply_to: %s", err))
		}
		c.replyTo = replyTo
	}
	if t := c.Timeout.D(); t <= 0 || t > maxTimeout {
		diags = append(diags, sdk.Errorf(sdk.Attr("timeout"), "timeout must be above 0 and at most %s, got %s", maxTimeout, t))
	}
	if c.HELO != "" && !isToken(c.HELO) {
		diags = append(diags, sdk.Errorf(sdk.Attr("helo"), "helo must be a host name without spaces, got %q", c.HELO))
	}
	if c.TLSServerName != "" && !isToken(c.TLSServerName) {
		diags = append(diags, sdk.Errorf(sdk.Attr("tls_server_name"), "tls_server_name must be a host name without spaces, got %q", c.TLSServerName))
	}
	if c.CAFile != "" {
		pool, err := loadRoots(c.CAFile)
		if err != nil {
			diags = append(diags, sdk.Errorf(sdk.Attr("ca_file"), "%s", err))
		}
		c.rootCAs = pool
	}
	if c.TLS == tlsNone && (c.CAFile != "" || c.TLSServerName != "") {
		diags = append(diags, sdk.Diagnostic{
			Severity: sdk.SeverityWarning, Path: sdk.Attr("tls"),
			Summary: "ca_file and tls_server_name are ignored with tls = \"none\"",
		})
	}
	return diags
}

// serverName is the name the server certificate must carry.
func (c *Config) serverName() string {
	if c.TLSServerName != "" {
		return c.TLSServerName
	}
	return c.Host
}

// checkHost accepts a host name or an IP address, without a port.
func checkHost(host string) error {
	switch {
	case host == "":
		return fmt.Errorf("host must not be empty")
	case net.ParseIP(host) != nil:
		return nil
	case strings.Contains(host, "://"):
		return fmt.Errorf("host must be a name or address, not a URL: %q", host)
	case strings.Contains(host, ":"):
		return fmt.Errorf("host must not carry a port (set port instead): %q", host)
	case !isToken(host):
		return fmt.Errorf("host %q is not a valid host name", host)
	}
	return nil
}

// isToken reports whether s is printable ASCII without spaces.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return s != ""
}

// parseAddress parses one RFC 5322 address ("Name <user@domain>" or a bare
// addr-spec).
func parseAddress(s string) (*mail.Address, error) {
	if strings.ContainsAny(s, "\r\n\x00") {
		return nil, fmt.Errorf("address %q must not contain line breaks", s)
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not an RFC 5322 address such as \"Shop <hello@example.com>\": %w", s, err)
	}
	return a, nil
}

// loadRoots returns the system roots plus the certificates in a PEM file.
func loadRoots(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading ca_file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca_file %s holds no PEM certificate", path)
	}
	return pool, nil
}

// decodeConfig decodes a channel's config with its defaults in place.
func decodeConfig(raw sdk.RawConfig) (*Config, *sdk.ValidateConfigResponse) {
	cfg := &Config{Port: defaultPort, TLS: tlsStartTLS, Timeout: sdk.Duration(defaultTimeout)}
	return cfg, sdk.CheckConfig(raw, cfg)
}
