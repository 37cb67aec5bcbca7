// Package render turns template blocks into message content: subject and
// text with text/template, HTML with html/template (contextual escaping),
// over the customer, the event and the fire's data. A value the template
// needs but the data lacks is an error, never a blank in a sent message.
package render

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"

	"github.com/triggergate/triggergate/sdk"
)

// Template is a parsed template block.
type Template struct {
	Name    string
	subject *texttemplate.Template
	text    *texttemplate.Template
	html    *htmltemplate.Template
}

// Data is what templates see: {{ .Customer.Email }}, {{ .Event.Properties.value }},
// {{ .Fire.count }}, {{ .Trigger }}, {{ .Step }}.
type Data struct {
	Customer sdk.Profile
	Event    sdk.Event
	Fire     map[string]any
	Trigger  string
	Step     string
}

// Content is a rendered message.
type Content struct {
	Subject, Text, HTML string
}

// Parse parses a template block's parts; empty parts stay empty.
func Parse(name, subject, text, html string) (*Template, error) {
	t := &Template{Name: name}
	var err error
	if subject != "" {
		if strings.ContainsAny(subject, "\r\n") {
			return nil, fmt.Errorf("template %q: subject must be one line", name)
		}
		if t.subject, err = texttemplate.New("subject").Option("missingkey=error").Parse(subject); err != nil {
			return nil, fmt.Errorf("template %q subject: %w", name, err)
		}
	}
	if text != "" {
		if t.text, err = texttemplate.New("text").Option("missingkey=error").Parse(text); err != nil {
			return nil, fmt.Errorf("template %q text: %w", name, err)
		}
	}
	if html != "" {
		if t.html, err = htmltemplate.New("html").Option("missingkey=error").Parse(html); err != nil {
			return nil, fmt.Errorf("template %q html: %w", name, err)
		}
	}
	return t, nil
}

// Render executes the template over d.
func (t *Template) Render(d *Data) (Content, error) {
	var c Content
	var err error
	if c.Subject, err = execText(t.subject, d); err != nil {
		return c, fmt.Errorf("rendering template %q subject: %w", t.Name, err)
	}
	if strings.ContainsAny(c.Subject, "\r\n") {
		return c, fmt.Errorf("rendering template %q subject: the result contains a line break", t.Name)
	}
	if c.Text, err = execText(t.text, d); err != nil {
		return c, fmt.Errorf("rendering template %q text: %w", t.Name, err)
	}
	if t.html != nil {
		var b bytes.Buffer
		if err := t.html.Execute(&b, d); err != nil {
			return c, fmt.Errorf("rendering template %q html: %w", t.Name, err)
		}
		c.HTML = b.String()
	}
	return c, nil
}

func execText(t *texttemplate.Template, d *Data) (string, error) {
	if t == nil {
		return "", nil
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return "", err
	}
	return b.String(), nil
}
