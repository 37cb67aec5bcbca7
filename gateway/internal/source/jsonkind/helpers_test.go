package jsonkind

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/sdk"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
	"github.com/zclconf/go-cty/cty/gocty"
)

// specFromHCL does what the config package does with a file holding one
// source block: it decodes the attributes every kind shares and leaves the
// rest of the block in source.Spec.Body. The file is named app.hcl.
func specFromHCL(t testing.TB, src string) source.Spec {
	t.Helper()
	file, diags := hclparse.NewParser().ParseHCL([]byte(src), "app.hcl")
	if diags.HasErrors() {
		t.Fatalf("parsing test config: %s", diags.Error())
	}
	content, diags := file.Body.Content(&hcl.BodySchema{
		Blocks: []hcl.BlockHeaderSchema{{Type: "source", LabelNames: []string{"name"}}},
	})
	if diags.HasErrors() || len(content.Blocks) != 1 {
		t.Fatalf("test config must hold one source block: %s", diags.Error())
	}
	block := content.Blocks[0]
	common, remain, diags := block.Body.PartialContent(&hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "kind", Required: true},
			{Name: "secret"},
			{Name: "secrets"},
			{Name: "max_body_kb"},
		},
	})
	if diags.HasErrors() {
		t.Fatalf("decoding common attributes: %s", diags.Error())
	}
	ctx := &hcl.EvalContext{Functions: map[string]function.Function{"upper": stdlib.UpperFunc}}
	spec := source.Spec{
		Name:        block.Labels[0],
		Body:        remain,
		EvalContext: ctx,
		KindRange:   common.Attributes["kind"].Expr.Range(),
		DefRange:    block.DefRange,
	}
	decode := func(name string, dest any) {
		attr, ok := common.Attributes[name]
		if !ok {
			return
		}
		var err error
		v, diags := attr.Expr.Value(ctx)
		if diags.HasErrors() {
			t.Fatalf("evaluating %s: %s", name, diags.Error())
		}
		if _, isList := dest.(*[]string); isList {
			if v, err = convert.Convert(v, cty.List(cty.String)); err != nil {
				t.Fatalf("converting %s: %v", name, err)
			}
		}
		if err := gocty.FromCtyValue(v, dest); err != nil {
			t.Fatalf("decoding %s: %v", name, err)
		}
	}
	decode("kind", &spec.Kind)
	var secret string
	decode("secret", &secret)
	if _, ok := common.Attributes["secret"]; ok {
		spec.Secrets = append(spec.Secrets, secret)
	}
	var secrets []string
	decode("secrets", &secrets)
	spec.Secrets = append(spec.Secrets, secrets...)
	return spec
}

// buildHCL builds an adapter from a config, failing the test on errors.
func buildHCL(t testing.TB, src string) source.Adapter {
	t.Helper()
	spec := specFromHCL(t, src)
	a, diags := Build(spec)
	if diags.HasErrors() {
		t.Fatalf("Build: %s", diags.Error())
	}
	return a
}

// sign returns the lower-case hex HMAC-SHA256 of body.
func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// jsonRequest is a delivery with a JSON content type plus extra headers
// given as name, value pairs.
func jsonRequest(body string, kv ...string) *source.Request {
	h := http.Header{"Content-Type": {"application/json"}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			h.Del(kv[i])
			continue
		}
		h.Set(kv[i], kv[i+1])
	}
	return &source.Request{
		Method: http.MethodPost,
		Header: h,
		Body:   []byte(body),
		Now:    time.Date(2026, 11, 22, 10, 0, 1, 0, time.UTC),
	}
}

// parseEvents runs an adapter and returns the delivery's events.
func parseEvents(a source.Adapter, req *source.Request) ([]sdk.Event, error) {
	d, err := a.Parse(req)
	if err != nil {
		return nil, err
	}
	return d.Events, nil
}
