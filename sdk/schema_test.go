package sdk

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// everything uses every supported field type and every kind of block.
type everything struct {
	Name     string            `hcl:"name" doc:"a name"`
	Enabled  bool              `hcl:"enabled,optional"`
	Count    int               `hcl:"count,optional"`
	Small    uint8             `hcl:"small,optional"`
	Ratio    float64           `hcl:"ratio,optional"`
	Wait     Duration          `hcl:"wait,optional"`
	When     Expression        `hcl:"when,optional"`
	Tags     []string          `hcl:"tags,optional"`
	Levels   []float64         `hcl:"levels,optional"`
	Counts   []int             `hcl:"counts,optional"`
	Headers  map[string]string `hcl:"headers,optional"`
	Target   target            `hcl:"target,block" doc:"where to go"`
	Fallback *target           `hcl:"fallback,block"`
	Steps    []step            `hcl:"step,block" doc:"steps"`

	ignored  string `hcl:"ignored"` // unexported: not part of the schema even with a tag
	Untagged string // no tag: not part of the schema
}

type target struct {
	URL string `hcl:"url"`
}

type step struct {
	Name  string   `hcl:"name"`
	Delay Duration `hcl:"delay,optional"`
	Inner *struct {
		Deep []string `hcl:"deep"`
	} `hcl:"inner,block"`
}

func TestSchemaOf(t *testing.T) {
	t.Parallel()
	got := SchemaOf(&everything{})
	want := Schema{
		Attributes: []AttributeSchema{
			{Name: "name", Type: TypeString, Required: true, Description: "a name"},
			{Name: "enabled", Type: TypeBool},
			{Name: "count", Type: TypeNumber},
			{Name: "small", Type: TypeNumber},
			{Name: "ratio", Type: TypeNumber},
			{Name: "wait", Type: TypeDuration},
			{Name: "when", Type: TypeExpression},
			{Name: "tags", Type: TypeStringList},
			{Name: "levels", Type: TypeNumberList},
			{Name: "counts", Type: TypeNumberList},
			{Name: "headers", Type: TypeStringMap},
		},
		Blocks: []BlockSchema{
			{Name: "target", Required: true, Description: "where to go", Schema: Schema{
				Attributes: []AttributeSchema{{Name: "url", Type: TypeString, Required: true}},
			}},
			{Name: "fallback", Schema: Schema{
				Attributes: []AttributeSchema{{Name: "url", Type: TypeString, Required: true}},
			}},
			{Name: "step", Repeated: true, Description: "steps", Schema: Schema{
				Attributes: []AttributeSchema{
					{Name: "name", Type: TypeString, Required: true},
					{Name: "delay", Type: TypeDuration},
				},
				Blocks: []BlockSchema{{Name: "inner", Schema: Schema{
					Attributes: []AttributeSchema{{Name: "deep", Type: TypeStringList, Required: true}},
				}}},
			}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SchemaOf =\n%+v\nwant\n%+v", got, want)
	}
	if !reflect.DeepEqual(SchemaOf(everything{}), got) {
		t.Error("SchemaOf differs between a struct and a pointer to it")
	}
}

func TestSchemaOfPanicsOnUnsupported(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  any
	}{
		{"pointer attribute", struct {
			X *string `hcl:"x"`
		}{}},
		{"map of numbers", struct {
			X map[string]int `hcl:"x"`
		}{}},
		{"time.Time", struct {
			X time.Time `hcl:"x"`
		}{}},
		{"list of bools", struct {
			X []bool `hcl:"x"`
		}{}},
		{"interface", struct {
			X any `hcl:"x"`
		}{}},
		{"block that is not a struct", struct {
			X string `hcl:"x,block"`
		}{}},
		{"unsupported type inside a block", struct {
			B []struct {
				C chan int `hcl:"c"`
			} `hcl:"b,block"`
		}{}},
		{"not a struct", 42},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("SchemaOf did not panic")
				}
				if s, _ := r.(string); !strings.HasPrefix(s, "sdk.SchemaOf: ") {
					t.Errorf("panic value %v does not say where it comes from", r)
				}
			}()
			SchemaOf(tc.cfg)
		})
	}
}

func TestDecodeConfig(t *testing.T) {
	t.Parallel()
	defaults := func() everything {
		return everything{Count: 3, Wait: Duration(time.Hour), Tags: []string{"default"}}
	}
	t.Run("full", func(t *testing.T) {
		t.Parallel()
		cfg := defaults()
		raw := `{"name":"n","enabled":true,"count":7,"small":200,"ratio":0.5,"wait":"7d","when":"event.type == \"x\"",
			"tags":["a","b"],"levels":[1.5],"counts":[1,5],"headers":{"A":"b"},
			"target":{"url":"u"},"fallback":{"url":"f"},
			"step":[{"name":"s0"},{"name":"s1","delay":"90s","inner":{"deep":["d"]}}]}`
		if err := DecodeConfig(RawConfig(raw), &cfg); err != nil {
			t.Fatal(err)
		}
		if cfg.Name != "n" || !cfg.Enabled || cfg.Count != 7 || cfg.Small != 200 || cfg.Ratio != 0.5 ||
			cfg.Wait.D() != 7*24*time.Hour || cfg.When.String() != `event.type == "x"` || !cfg.When.IsSet() ||
			!reflect.DeepEqual(cfg.Tags, []string{"a", "b"}) || !reflect.DeepEqual(cfg.Levels, []float64{1.5}) ||
			!reflect.DeepEqual(cfg.Counts, []int{1, 5}) || cfg.Headers["A"] != "b" || cfg.Target.URL != "u" ||
			cfg.Fallback == nil || cfg.Fallback.URL != "f" || len(cfg.Steps) != 2 || cfg.Steps[1].Delay.D() != 90*time.Second ||
			cfg.Steps[1].Inner == nil || cfg.Steps[1].Inner.Deep[0] != "d" || cfg.Steps[0].Inner != nil {
			t.Errorf("decoded = %+v", cfg)
		}
	})
	t.Run("defaults kept when optional attributes are missing or null", func(t *testing.T) {
		t.Parallel()
		cfg := defaults()
		cfg.ignored = "kept"
		if err := DecodeConfig(RawConfig(`{"name":"n","count":null,"ignored":"x","Untagged":"x","target":{"url":"u"}}`), &cfg); err != nil {
			t.Fatal(err)
		}
		if cfg.Count != 3 || cfg.Wait.D() != time.Hour || !reflect.DeepEqual(cfg.Tags, []string{"default"}) ||
			cfg.Fallback != nil || cfg.Steps != nil || cfg.When.IsSet() || cfg.ignored != "kept" || cfg.Untagged != "" {
			t.Errorf("defaults lost: %+v", cfg)
		}
	})
	t.Run("empty config is an empty object", func(t *testing.T) {
		t.Parallel()
		var cfg struct {
			X string `hcl:"x,optional"`
		}
		if err := DecodeConfig(nil, &cfg); err != nil {
			t.Errorf("DecodeConfig(nil) = %v", err)
		}
	})
	t.Run("not a pointer to a struct", func(t *testing.T) {
		t.Parallel()
		if err := DecodeConfig(RawConfig(`{}`), everything{}); err == nil {
			t.Error("decoding into a non-pointer succeeded")
		}
	})

	errTests := []struct {
		name     string
		raw      string
		wantPath string
		wantErr  string
	}{
		{"required missing", `{"target":{"url":"u"}}`, "name", `required attribute "name" is missing`},
		{"required null", `{"name":null}`, "name", "missing"},
		{"wrong type", `{"name":"n","count":"many"}`, "count", "cannot unmarshal"},
		{"number overflows", `{"name":"n","small":300}`, "small", "cannot unmarshal"},
		{"bad duration", `{"name":"n","wait":"soon"}`, "wait", "invalid duration"},
		{"duration not a string", `{"name":"n","wait":5}`, "wait", "duration string"},
		{"bad expression", `{"name":"n","when":"event.("}`, "when", "invalid expression"},
		{"required in a block", `{"name":"n","target":{}}`, "target.url", "missing"},
		{"required in an optional block", `{"name":"n","target":{"url":"u"},"fallback":{"url":1}}`, "fallback.url", "cannot unmarshal"},
		{"nested block list index", `{"name":"n","target":{"url":"u"},"step":[{"name":"a"},{"name":"b","delay":"later"}]}`, "step[1].delay", "invalid duration"},
		{"deeper", `{"name":"n","target":{"url":"u"},"step":[{"name":"a","inner":{}}]}`, "step[0].inner.deep", "missing"},
		{"required block missing", `{"name":"n"}`, "target", `required block "target" is missing`},
		{"block not an object", `{"name":"n","target":"u"}`, "target", "want an object"},
		{"block list not a list", `{"name":"n","target":{"url":"u"},"step":{"name":"a"}}`, "step", "want a list of blocks"},
		{"not an object", `[1]`, "", "want an object"},
	}
	for _, tc := range errTests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := defaults()
			err := DecodeConfig(RawConfig(tc.raw), &cfg)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v (%T), want *DecodeError", err, err)
			}
			if de.Path.String() != tc.wantPath || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %q at %q, want %q at %q", err, de.Path, tc.wantErr, tc.wantPath)
			}
			if tc.wantPath != "" && !strings.HasPrefix(err.Error(), tc.wantPath+": ") {
				t.Errorf("err = %q does not start with its path", err)
			}
			if errors.Unwrap(err) == nil {
				t.Error("DecodeError does not unwrap")
			}
		})
	}
}

func TestCheckConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		raw      string
		wantPath string
		wantSev  Severity
	}{
		{"valid", `{"n":1}`, "", 0},
		{"decode error keeps its path", `{"n":"x"}`, "n", SeverityError},
		{"validator runs after decoding", `{"n":-1}`, "n", SeverityError},
		{"validator warnings pass through", `{"n":0}`, "n", SeverityWarning},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp := CheckConfig(RawConfig(tc.raw), &checked{})
			if tc.wantSev == 0 {
				if len(resp.Diagnostics) != 0 {
					t.Errorf("diagnostics = %+v", resp.Diagnostics)
				}
				return
			}
			if len(resp.Diagnostics) != 1 {
				t.Fatalf("diagnostics = %+v, want one", resp.Diagnostics)
			}
			d := resp.Diagnostics[0]
			if d.Severity != tc.wantSev || d.Path.String() != tc.wantPath || d.Summary == "" {
				t.Errorf("diagnostic = %+v", d)
			}
		})
	}
}

type checked struct {
	N int `hcl:"n"`
}

func (c *checked) Validate() Diagnostics {
	switch {
	case c.N < 0:
		return Diagnostics{Errorf(Attr("n"), "n must not be negative")}
	case c.N == 0:
		return Diagnostics{{Severity: SeverityWarning, Summary: "n is zero", Path: Attr("n")}}
	}
	return nil
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"90s", 90 * time.Second, false},
		{"15m", 15 * time.Minute, false},
		{"1h30m", 90 * time.Minute, false},
		{"7d", 7 * 24 * time.Hour, false},
		{"1.5d", 36 * time.Hour, false},
		{"0d", 0, false},
		{"0", 0, false},
		{"", 0, true},
		{"d", 0, true},
		{"soon", 0, true},
		{"7days", 0, true},
		{"1d12h", 0, true},
		{"-1d", 0, true},
		{"1e9d", 0, true},
		{"NaNd", 0, true},
		{"90", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDuration(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("ParseDuration(%q) = %s, %v; want %s, error %v", tc.in, got, err, tc.want, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), `"7d"`) {
				t.Errorf("error %q does not show how to write a duration", err)
			}
		})
	}
}

func TestDurationJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(Duration(36 * time.Hour))
	if err != nil || string(b) != `"36h0m0s"` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var d Duration
	if err := json.Unmarshal(b, &d); err != nil || d.D() != 36*time.Hour {
		t.Errorf("round trip = %s, %v", d.D(), err)
	}
}

func TestPathString(t *testing.T) {
	t.Parallel()
	base := Attr("step")
	a := base.Index(1).Attr("delay")
	b := base.Index(2).Attr("wait") // must not overwrite a's steps
	tests := []struct {
		path Path
		want string
	}{
		{nil, ""},
		{Attr("on"), "on"},
		{Attr("on").Index(0), "on[0]"},
		{a, "step[1].delay"},
		{b, "step[2].wait"},
		{Attr("a").Attr("b").Attr("c"), "a.b.c"},
		{Attr("m").Index(0).Index(3), "m[0][3]"},
		{Path{}.Index(4).Attr("x"), "[4].x"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			t.Parallel()
			if got := tc.path.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
	if !base.Index(0)[1].IsIndex() || base[0].IsIndex() {
		t.Error("IsIndex wrong")
	}
}

func TestDiagnosticsHasErrors(t *testing.T) {
	t.Parallel()
	warn := Diagnostic{Severity: SeverityWarning, Summary: "w"}
	if (Diagnostics{warn}).HasErrors() || Diagnostics(nil).HasErrors() {
		t.Error("warnings alone count as errors")
	}
	if !(Diagnostics{warn, Errorf(nil, "e %d", 1)}).HasErrors() {
		t.Error("error not seen")
	}
	if d := Errorf(Attr("x"), "bad %s", "thing"); d.Summary != "bad thing" || d.Severity != SeverityError || d.Path.String() != "x" {
		t.Errorf("Errorf = %+v", d)
	}
}

func TestSendStatusString(t *testing.T) {
	t.Parallel()
	for s, want := range map[SendStatus]string{StatusOK: "ok", StatusRetryable: "retryable", StatusPermanent: "permanent", 0: "unknown"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q, want %q", s, s.String(), want)
		}
	}
	if r := Retry(errors.New("x"), time.Second); r.Status != StatusRetryable || r.Error != "x" || r.RetryAfter != time.Second {
		t.Errorf("Retry = %+v", r)
	}
	if r := Fail(errors.New("y")); r.Status != StatusPermanent || r.Error != "y" {
		t.Errorf("Fail = %+v", r)
	}
	if r := Sent("p"); r.Status != StatusOK || r.ProviderID != "p" {
		t.Errorf("Sent = %+v", r)
	}
}

func FuzzDecodeConfig(f *testing.F) {
	for _, seed := range []string{
		`{}`, `null`, `[]`, `"x"`, `{"name":"n"}`,
		`{"name":"n","wait":"7d","when":"event.type == \"a\"","tags":["a"],"levels":[1e308],"counts":[1,-1],"headers":{"a":"b"}}`,
		`{"name":"n","target":{"url":"u"},"fallback":null,"step":[{"name":"a","inner":{"deep":[]}},{}]}`,
		`{"name":"n","step":[null,1,"x"]}`, `{"name":"n","when":"${"}`, `{"name":"n","wait":"99999d"}`,
		`{"name":"n","small":-1,"count":1e100}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var cfg everything
		err := DecodeConfig(RawConfig(raw), &cfg)
		var de *DecodeError
		if err != nil && !errors.As(err, &de) {
			t.Fatalf("error %v is %T, want *DecodeError", err, err)
		}
		_ = CheckConfig(RawConfig(raw), &checked{})
	})
}
