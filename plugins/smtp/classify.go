package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strconv"
	"strings"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"

	"github.com/triggergate/triggergate/sdk"
)

// go-mail reports these session failures with fmt.Errorf only, so they are
// recognised by their text; the tests pin them against the library.
const (
	noStartTLSText = "does not support STARTTLS"
	noAuthText     = "server does not support SMTP AUTH"
)

// outcome classifies one message after the session.
func outcome(ctx context.Context, cfg *Config, msg *gomail.Msg, sessionErr error) sdk.SendResult {
	if msg.IsDelivered() {
		return sdk.Sent(msg.GetMessageID())
	}
	sendErr := msg.SendError()
	if sendErr != nil && replyCode(sendErr) != 0 {
		// The server answered this message: its reply stands even when
		// ctx ended afterwards.
		return classify(cfg, sendErr)
	}
	if err := ctx.Err(); err != nil {
		return sdk.Retry(fmt.Errorf("cancelled before the server accepted the message: %w", err), 0)
	}
	switch {
	case sendErr != nil:
		return classify(cfg, sendErr)
	case sessionErr != nil:
		return classify(cfg, sessionErr)
	}
	return sdk.Retry(errors.New("not sent: the SMTP session ended before this message"), 0)
}

// classify turns an SMTP session or delivery error into a result: 4xx
// replies and transport failures are retryable, 5xx replies and problems
// only the operator can fix are permanent.
func classify(cfg *Config, err error) sdk.SendResult {
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	switch code := replyCode(err); {
	case code == 535 || code == 534:
		return sdk.Fail(fmt.Errorf("authentication failed: %s rejected the username or password (%w); fix the channel's username and password, then run `triggergate dlq retry`", addr, err))
	case code == 530:
		return sdk.Fail(fmt.Errorf("%s requires authentication (%w); set username and password in the channel's config, then run `triggergate dlq retry`", addr, err))
	case code >= 400 && code < 500:
		return sdk.Retry(err, 0)
	case code >= 500 && code < 600:
		return sdk.Fail(err)
	}
	msg := err.Error()
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return sdk.Retry(err, 0)
	case strings.Contains(msg, noStartTLSText):
		return sdk.Fail(fmt.Errorf("%s does not offer STARTTLS, which tls = \"starttls\" requires; nothing was sent. Use tls = \"tls\" for an implicit-TLS port such as 465, or fix the relay", addr))
	case strings.Contains(msg, noAuthText), errors.Is(err, gomail.ErrNoSupportedAuthDiscovered), errors.Is(err, gosmtp.ErrUnencrypted):
		return sdk.Fail(fmt.Errorf("authentication with %s is not possible (%w); check that the relay offers AUTH PLAIN or LOGIN on this port and tls mode", addr, err))
	}
	var se *gomail.SendError
	if errors.As(err, &se) {
		switch se.Reason {
		case gomail.ErrGetSender, gomail.ErrGetRcpts, gomail.ErrNoUnencoded:
			return sdk.Fail(err)
		}
	}
	// Connection refused or reset, timeouts, TLS handshake failures and
	// connections dropped mid-session: a later attempt may succeed.
	return sdk.Retry(err, 0)
}

// replyCode is the SMTP reply code carried by err, 0 when none.
func replyCode(err error) int {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return tp.Code
	}
	var se *gomail.SendError
	if errors.As(err, &se) {
		return se.ErrorCode()
	}
	return 0
}
