package sdk

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func testEvent() (*Event, *Profile) {
	ev := &Event{
		ID: "ev1", Type: "order.placed", Source: "shop", SourceKind: "shopify",
		Customer: Customer{ID: "c1", Email: "jane@example.com"},
		Properties: map[string]any{
			"value": 199.0, "currency": "USD",
			"items": []any{map[string]any{"sku": "A", "price": 25.0}},
		},
	}
	prof := &Profile{
		Customer: Customer{ID: "c1", Email: "jane@example.com"},
		Traits:   map[string]any{"vip": true, "first_name": "Jane"},
		Timezone: "Europe/Paris",
	}
	return ev, prof
}

func TestExpressionEvalBool(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src     string
		want    bool
		wantErr string // substring; empty: no error
	}{
		{`event.properties.value > 50`, true, ""},
		{`event.properties.value > 500`, false, ""},
		{`event.type == "order.placed" && customer.traits.vip`, true, ""},
		{`customer.traits.vip != true`, false, ""},
		{`lower(customer.email) == "jane@example.com"`, true, ""},
		{`length(event.properties.items) == 1 && event.properties.items[0].sku == "A"`, true, ""},
		{`customer.timezone == "Europe/Paris"`, true, ""},
		{`contains(["order.placed", "order.paid"], event.type)`, true, ""},
		{`null`, false, ""},
		{`event.properties.value`, false, "want a bool"},
		{`event.properties.currency`, false, "want a bool"},
		{`event.properties.discount > 10`, false, "Unsupported attribute"},
		{`try(event.properties.discount, 0) > 10`, false, ""},
		{`try(event.properties.value, 0) > 10`, true, ""},
		{`can(event.properties.discount)`, false, ""},
		{`can(event.properties.value)`, true, ""},
		{`order.total > 1`, false, "order"},
		{`tonumber("12") > 11`, true, ""},
	}
	ev, prof := testEvent()
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			t.Parallel()
			e, err := ParseExpression(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.EvalBool(ev, prof)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("EvalBool = %v, %v; want error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("EvalBool = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestExpressionEval(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		want any
	}{
		{`event.properties.value * 2`, 398.0},
		{`upper(event.properties.currency)`, "USD"},
		{`event.properties.value > 1`, true},
		{`null`, nil},
		{`[event.type, 1]`, []any{"order.placed", 1.0}},
		{`{ id = customer.id }`, map[string]any{"id": "c1"}},
		{`coalesce(try(customer.traits.nickname, null), customer.traits.first_name)`, "Jane"},
	}
	ev, prof := testEvent()
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			t.Parallel()
			e, err := ParseExpression(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Eval(ev, prof)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Eval = %#v, %v; want %#v", got, err, tc.want)
			}
		})
	}
}

func TestExpressionParseAndJSON(t *testing.T) {
	t.Parallel()
	if _, err := ParseExpression(`event.(`); err == nil {
		t.Error("ParseExpression accepted a syntax error")
	}
	var zero Expression
	if zero.IsSet() || zero.String() != "" {
		t.Error("zero Expression is set")
	}
	if _, err := zero.EvalBool(testEvent()); err == nil {
		t.Error("evaluating the zero Expression succeeded")
	}

	var holder struct {
		When Expression `json:"when"`
	}
	src := `event.properties.value > 50`
	if err := json.Unmarshal([]byte(`{"when":"`+src+`"}`), &holder); err != nil {
		t.Fatal(err)
	}
	if !holder.When.IsSet() || holder.When.String() != src {
		t.Errorf("decoded %q", holder.When.String())
	}
	b, err := json.Marshal(holder)
	if err != nil || string(b) != `{"when":"event.properties.value \u003e 50"}` {
		t.Errorf("Marshal = %s, %v", b, err)
	}
	if err := json.Unmarshal([]byte(`{"when":5}`), &holder); err == nil {
		t.Error("a number decoded as an expression")
	}
}

func TestExpressionFunctions(t *testing.T) {
	t.Parallel()
	fns := ExpressionFunctions()
	for _, name := range []string{"can", "try", "lower", "upper", "contains", "length", "coalesce", "lookup", "regex", "max", "min", "abs", "tonumber", "tostring"} {
		if _, ok := fns[name]; !ok {
			t.Errorf("function %s missing", name)
		}
	}
	if !reflect.DeepEqual(ExpressionVariables, []string{"event", "customer"}) {
		t.Errorf("ExpressionVariables = %v", ExpressionVariables)
	}
}
