// Package render turns template blocks into message content: subject and
// text with text/template, HTML with html/template (contextual escaping),
// over the customer, the event and the fire's data. A value the template
// needs but the data lacks is an error, never a blank in a sent message,
// and a field that can never exist is refused when the template is parsed.
package render

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"maps"
	"slices"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"

	"github.com/triggergate/triggergate/sdk"
)

// Template is a parsed template block.
type Template struct {
	Name    string
	subject *texttemplate.Template
	text    *texttemplate.Template
	html    *htmltemplate.Template
}

// Data is what a message is rendered from. Templates see {{ .Customer.Email }},
// {{ .Event.Properties.value }}, {{ .Fire.count }}, {{ .Trigger }},
// {{ .Step }} and {{ .UnsubscribeURL }}; Location is a setting of the
// rendering, not something templates can read.
type Data struct {
	Customer sdk.Profile
	Event    sdk.Event
	Fire     map[string]any
	Trigger  string
	Step     string
	// UnsubscribeURL is the one-click unsubscribe link of the message
	// (RFC 8058), set by the delivery worker when tracking is on; empty
	// otherwise, so templates print it inside {{ with }}.
	UnsubscribeURL string
	// Location is the customer's time zone: every time.Time in the data
	// is shown in it, so that "15:04" is the customer's wall clock. Nil
	// means UTC.
	Location *time.Location
}

// For returns the data a message's template sees, with times in the
// customer's timezone, else in def.
func For(m *sdk.Message, def *time.Location) *Data {
	return &Data{Customer: m.Profile, Event: m.Event, Fire: m.Fire, Trigger: m.Trigger, Step: m.Step,
		Location: Location(m.Profile.Timezone, def)}
}

// locations caches loaded timezones by name: loading one parses its
// rules.
var locations sync.Map

// Location returns the named IANA timezone, else def.
func Location(name string, def *time.Location) *time.Location {
	if name == "" {
		return def
	}
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return def
	}
	locations.Store(name, l)
	return l
}

// view is the value templates execute over: Data without its settings,
// with its times in the customer's location. Its fields are the ones the
// static checks accept, in the order their messages list them.
type view struct {
	Customer       sdk.Profile
	Event          sdk.Event
	Fire           map[string]any
	Trigger        string
	Step           string
	UnsubscribeURL string
}

// Content is a rendered message.
type Content struct {
	Subject, Text, HTML string
}

// Parse parses a template block's parts; empty parts stay empty. Beyond
// syntax and unknown functions, it refuses field chains that can never
// resolve (.Custmer, .Customer.FirstName), naming the part and the line.
func Parse(name, subject, text, html string) (*Template, error) {
	t := &Template{Name: name}
	var err error
	var errs []error
	if subject != "" {
		if strings.ContainsAny(subject, "\r\n") {
			return nil, fmt.Errorf("template %q: subject must be one line", name)
		}
		if t.subject, err = newText("subject").Parse(subject); err != nil {
			return nil, fmt.Errorf("template %q subject: %w", name, err)
		}
		errs = append(errs, checkText(name, "subject", subject, t.subject)...)
	}
	if text != "" {
		if t.text, err = newText("text").Parse(text); err != nil {
			return nil, fmt.Errorf("template %q text: %w", name, err)
		}
		errs = append(errs, checkText(name, "text", text, t.text)...)
	}
	if html != "" {
		if t.html, err = htmltemplate.New("html").Option("missingkey=error").Funcs(funcs()).Parse(html); err != nil {
			return nil, fmt.Errorf("template %q html: %w", name, err)
		}
		errs = append(errs, checkHTML(name, html, t.html)...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

func newText(part string) *texttemplate.Template {
	return texttemplate.New(part).Option("missingkey=error").Funcs(funcs())
}

// Render executes the template over d, with d's times in d.Location. It
// does not modify d or anything d refers to.
func (t *Template) Render(d *Data) (Content, error) {
	v := present(d)
	var c Content
	var err error
	if c.Subject, err = execText(t.subject, v); err != nil {
		return c, fmt.Errorf("rendering template %q subject: %w", t.Name, err)
	}
	if strings.ContainsAny(c.Subject, "\r\n") {
		return c, fmt.Errorf("rendering template %q subject: the result contains a line break", t.Name)
	}
	if c.Text, err = execText(t.text, v); err != nil {
		return c, fmt.Errorf("rendering template %q text: %w", t.Name, err)
	}
	if t.html != nil {
		b := &capped{max: MaxOutput}
		if err := t.html.Execute(b, v); err != nil {
			return c, fmt.Errorf("rendering template %q html: %w", t.Name, err)
		}
		c.HTML = b.String()
	}
	return c, nil
}

// MaxOutput is the most one part of a template may render: no message
// needs more, and a loop gone wrong must not fill the gateway's memory.
const MaxOutput = 1 << 20

func execText(t *texttemplate.Template, v *view) (string, error) {
	if t == nil {
		return "", nil
	}
	b := &capped{max: MaxOutput}
	if err := t.Execute(b, v); err != nil {
		return "", err
	}
	return b.String(), nil
}

// capped is a buffer that refuses to grow past max bytes.
type capped struct {
	bytes.Buffer
	max int
}

var errTooLong = fmt.Errorf("the output is longer than %d bytes", MaxOutput)

func (c *capped) Write(p []byte) (int, error) {
	if c.Len()+len(p) > c.max {
		return 0, errTooLong
	}
	return c.Buffer.Write(p)
}

// present returns what templates see of d: its times in d's location
// (UTC when nil). Maps that hold a time.Time are copied, never changed,
// since the caller's maps may be shared with other messages.
func present(d *Data) *view {
	loc := d.Location
	if loc == nil {
		loc = time.UTC
	}
	v := &view{
		Customer: d.Customer, Event: d.Event, Fire: d.Fire,
		Trigger: d.Trigger, Step: d.Step, UnsubscribeURL: d.UnsubscribeURL,
	}
	in := func(t *time.Time) {
		if !t.IsZero() {
			*t = t.In(loc)
		}
	}
	in(&v.Event.OccurredAt)
	in(&v.Event.ReceivedAt)
	in(&v.Customer.Stats.FirstSeenAt)
	in(&v.Customer.Stats.LastSeenAt)
	in(&v.Customer.Stats.LastOrderAt)
	v.Fire, _ = localMap(v.Fire, loc)
	v.Event.Properties, _ = localMap(v.Event.Properties, loc)
	v.Event.Traits, _ = localMap(v.Event.Traits, loc)
	v.Customer.Traits, _ = localMap(v.Customer.Traits, loc)
	return v
}

// localMap returns m, or when m holds a time.Time (at any depth) a copy of
// it with its times in loc, and whether it copied.
func localMap(m map[string]any, loc *time.Location) (map[string]any, bool) {
	var out map[string]any
	for k, x := range m {
		y, changed := localValue(x, loc)
		if !changed {
			continue
		}
		if out == nil {
			out = maps.Clone(m)
		}
		out[k] = y
	}
	if out == nil {
		return m, false
	}
	return out, true
}

func localValue(x any, loc *time.Location) (any, bool) {
	switch x := x.(type) {
	case time.Time:
		if x.IsZero() {
			return x, false
		}
		return x.In(loc), true
	case map[string]any:
		return localMap(x, loc)
	case []any:
		var out []any
		for i, e := range x {
			f, changed := localValue(e, loc)
			if !changed {
				continue
			}
			if out == nil {
				out = slices.Clone(x)
			}
			out[i] = f
		}
		if out == nil {
			return x, false
		}
		return out, true
	}
	return x, false
}
