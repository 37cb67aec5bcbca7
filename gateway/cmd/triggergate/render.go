package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/config"
	"github.com/triggergate/triggergate/gateway/internal/render"
	"github.com/triggergate/triggergate/sdk"
)

const renderUsage = `usage: triggergate render -config PATH [-customer JSON|@FILE] [-event JSON|@FILE]
                          [-fire JSON|@FILE] [-trigger NAME] [-step NAME] [-json] TEMPLATE

Renders a template block as the delivery worker would and prints the
subject, the text part and the html part, or with -json one JSON object.
A value the template needs and the data lacks fails the render, prints the
reason the message would be dead-lettered for, and exits 1.

Without -customer: a profile with id "c-1001", email "jane@example.com",
traits {"first_name": "Jane"}, timezone "Europe/Paris" and order stats.
Without -event: an order.placed event at 2026-03-14T09:30:00Z for that
customer with properties {"value": 129.9, "currency": "EUR", "order_id": "1001"}.
-customer and -event take the canonical sdk.Profile and sdk.Event JSON (as
"triggergate customer -json" and the admin API show them; an event without
occurred_at, received_at or customer gets the sample's), -fire a JSON
object; @FILE reads it from a file. Times are shown in the customer's
timezone, else the policy's default_timezone. -trigger defaults to the
first trigger that sends the template, -step to "default".
.UnsubscribeURL is ` + previewUnsubscribeURL + `.

Exit status: 0 rendered, 1 invalid configuration or template or a failed
render, 2 bad command line, unknown template or bad JSON.`

// previewUnsubscribeURL stands in for the tracking link the delivery
// worker makes per message.
const previewUnsubscribeURL = "https://example.invalid/t/u/preview"

// renderPreview is the -json output of triggergate render.
type renderPreview struct {
	Template string `json:"template"`
	Trigger  string `json:"trigger"`
	Step     string `json:"step"`
	Timezone string `json:"timezone"`
	Subject  string `json:"subject"`
	Text     string `json:"text"`
	HTML     string `json:"html"`
}

// renderCmd previews a template over a sample or a given customer and event.
func renderCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("render", stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, renderUsage)
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	path := fs.String("config", "configs/gateway.hcl", "configuration file or directory")
	customerArg := fs.String("customer", "", "the customer: sdk.Profile JSON, or @FILE")
	eventArg := fs.String("event", "", "the event: sdk.Event JSON, or @FILE")
	fireArg := fs.String("fire", "", "the fire's data: a JSON object, or @FILE")
	trigger := fs.String("trigger", "", "the trigger name templates see as .Trigger")
	step := fs.String("step", "", "the step templates see as .Step (default \"default\")")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	// Flags may follow the template's name too.
	var name string
	if fs.NArg() > 0 {
		name = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return 2
		}
	}
	if name == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, renderUsage)
		return 2
	}

	d := sampleData()
	if *customerArg != "" {
		d.Customer = sdk.Profile{}
		if err := decodeArg("customer", *customerArg, &d.Customer); err != nil {
			fmt.Fprintln(stderr, "triggergate render:", err)
			return 2
		}
		d.Event.Customer = d.Customer.Customer
	}
	if *eventArg != "" {
		sample := d.Event
		d.Event = sdk.Event{}
		if err := decodeArg("event", *eventArg, &d.Event); err != nil {
			fmt.Fprintln(stderr, "triggergate render:", err)
			return 2
		}
		// What every real event has, a hand-written one may leave out.
		if d.Event.OccurredAt.IsZero() {
			d.Event.OccurredAt = sample.OccurredAt
		}
		if d.Event.ReceivedAt.IsZero() {
			d.Event.ReceivedAt = d.Event.OccurredAt.Add(time.Second)
		}
		if d.Event.Customer.Key() == "" {
			d.Event.Customer = d.Customer.Customer
		}
	}
	if *fireArg != "" {
		d.Fire = nil
		if err := decodeArg("fire", *fireArg, &d.Fire); err != nil {
			fmt.Fprintln(stderr, "triggergate render:", err)
			return 2
		}
	}

	cfg, ok := load(*path, stderr)
	if !ok {
		return 1
	}
	i := slices.IndexFunc(cfg.Templates, func(t *config.Template) bool { return t.Name == name })
	if i < 0 {
		fmt.Fprintf(stderr, "triggergate render: no template %q in %s; %s\n", name, *path, definedTemplates(cfg))
		return 2
	}
	tc := cfg.Templates[i]
	tmpl, err := render.Parse(tc.Name, tc.Subject, tc.Text, tc.HTML)
	if err != nil {
		fmt.Fprintf(stderr, "%s:%d: triggergate render: %v\n", tc.DeclRange.Filename, tc.DeclRange.Start.Line, err)
		return 1
	}

	d.Location = cfg.Policy.DefaultLocation
	if d.Location == nil {
		d.Location = time.UTC
	}
	if d.Customer.Timezone != "" {
		if d.Location, err = time.LoadLocation(d.Customer.Timezone); err != nil {
			fmt.Fprintf(stderr, "triggergate render: -customer: timezone %q: %v\n", d.Customer.Timezone, err)
			return 2
		}
	}
	d.Trigger, d.Step = *trigger, *step
	if d.Trigger == "" {
		d.Trigger, d.Step = triggerSending(cfg, name, d.Step)
	}
	if d.Step == "" {
		d.Step = "default"
	}
	d.UnsubscribeURL = previewUnsubscribeURL

	c, err := tmpl.Render(d)
	if err != nil {
		fmt.Fprintf(stderr, "triggergate render: %v\n(the delivery worker would dead-letter this message with that reason)\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		_ = enc.Encode(renderPreview{
			Template: name, Trigger: d.Trigger, Step: d.Step, Timezone: d.Location.String(),
			Subject: c.Subject, Text: c.Text, HTML: c.HTML,
		})
		return 0
	}
	if tc.Subject != "" {
		fmt.Fprintf(stdout, "Subject: %s\n", c.Subject)
	}
	for _, part := range []struct{ name, src, out string }{{"text", tc.Text, c.Text}, {"html", tc.HTML, c.HTML}} {
		if part.src == "" {
			continue
		}
		fmt.Fprintf(stdout, "----- %s -----\n%s", part.name, part.out)
		if !strings.HasSuffix(part.out, "\n") {
			fmt.Fprintln(stdout)
		}
	}
	return 0
}

// sampleData is what a template renders over without -customer and -event.
func sampleData() *render.Data {
	placed := time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)
	p := sdk.Profile{
		Customer: sdk.Customer{ID: "c-1001", Email: "jane@example.com"},
		Traits:   map[string]any{"first_name": "Jane"},
		Timezone: "Europe/Paris",
		Stats: sdk.Stats{
			OrdersCount: 3, LifetimeValue: 389.7, AverageOrderValue: 129.9,
			FirstSeenAt: placed.AddDate(-1, 0, 0), LastSeenAt: placed, LastOrderAt: placed,
		},
		Consent: map[string]bool{"email": true},
	}
	return &render.Data{
		Customer: p,
		Event: sdk.Event{
			ID: "01JPREVIEW0000000000000000", Type: "order.placed", Source: "preview", SourceKind: "json",
			OccurredAt: placed, ReceivedAt: placed.Add(time.Second), Customer: p.Customer,
			Properties: map[string]any{"value": 129.9, "currency": "EUR", "order_id": "1001"},
		},
		Fire: map[string]any{},
	}
}

// decodeArg decodes a JSON flag value, or the file it names after @, into
// v, refusing fields v does not have (a typo would otherwise render as if
// the value were absent).
func decodeArg(flagName, arg string, v any) error {
	src := []byte(arg)
	if file, ok := strings.CutPrefix(arg, "@"); ok {
		var err error
		if src, err = os.ReadFile(file); err != nil {
			return fmt.Errorf("-%s: %w", flagName, err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("-%s: invalid JSON: %w", flagName, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("-%s: invalid JSON: more than one value", flagName)
	}
	return nil
}

// triggerSending returns the first trigger with an action that sends the
// template, and the action's first step when it names steps (else step).
func triggerSending(cfg *config.Config, tmpl, step string) (string, string) {
	for _, tr := range cfg.Triggers {
		for _, a := range tr.Actions {
			uses := a.Template == tmpl
			for _, v := range a.Variants {
				uses = uses || v.Template == tmpl
			}
			if !uses {
				continue
			}
			if step == "" && len(a.Steps) > 0 {
				step = a.Steps[0]
			}
			return tr.Name, step
		}
	}
	return "preview", step
}

func definedTemplates(cfg *config.Config) string {
	if len(cfg.Templates) == 0 {
		return "it defines no templates"
	}
	names := make([]string, len(cfg.Templates))
	for i, t := range cfg.Templates {
		names[i] = fmt.Sprintf("%q", t.Name)
	}
	return "defined templates: " + strings.Join(names, ", ")
}
