package standard_test

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/source"
	"github.com/triggergate/triggergate/gateway/internal/source/sourcetest"
	"github.com/triggergate/triggergate/gateway/internal/source/standard"
	"github.com/triggergate/triggergate/sdk"
)

const (
	// testSecret is the Standard Webhooks reference libraries' test
	// secret; oldSecret is a previous secret during a rotation.
	testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	oldSecret  = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24tdGVzdHM="
	// testSeed is the reference libraries' ed25519 test signing key (a
	// 32-byte seed, base64).
	testSeed = "VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk="
)

// signingKey is the ed25519 private key of testSeed.
func signingKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	seed, err := base64.StdEncoding.DecodeString(testSeed)
	if err != nil {
		t.Fatal(err)
	}
	return ed25519.NewKeyFromSeed(seed)
}

// publicKey is testSeed's public key as a source attribute value.
func publicKey(t testing.TB) string {
	return "whpk_" + base64.StdEncoding.EncodeToString(signingKey(t).Public().(ed25519.PublicKey))
}

// config is a standard source with both HMAC secrets (current and
// previous) and the ed25519 public key.
func config(t testing.TB) string {
	return `
source "peer" {
  kind        = "standard"
  secrets     = ["` + testSecret + `", "` + oldSecret + `"]
  public_keys = ["` + publicKey(t) + `"]
}`
}

// signV1 is a v1 signature computed independently of the package.
func signV1(secret, id string, ts time.Time, body []byte) string {
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(ts.Unix(), 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// signV1a is a v1a (ed25519) signature.
func signV1a(key ed25519.PrivateKey, id string, ts time.Time, body []byte) string {
	msg := []byte(id + "." + strconv.FormatInt(ts.Unix(), 10) + "." + string(body))
	return "v1a," + base64.StdEncoding.EncodeToString(ed25519.Sign(key, msg))
}

// headers are a Standard Webhooks delivery's headers with the given
// signature header.
func headers(id string, ts time.Time, signature string) http.Header {
	return http.Header{
		"Content-Type":      {"application/json"},
		"Webhook-Id":        {id},
		"Webhook-Timestamp": {strconv.FormatInt(ts.Unix(), 10)},
		"Webhook-Signature": {signature},
	}
}

// testNow is the receive time of deliveries parsed directly.
var testNow = time.Date(2026, 11, 22, 11, 0, 6, 0, time.UTC)

// request is a delivery of body with id, HMAC-signed with testSecret at
// testNow.
func request(id string, body []byte) *source.Request {
	return &source.Request{
		Method: http.MethodPost,
		Header: headers(id, testNow, signV1(testSecret, id, testNow, body)),
		Body:   body,
		Now:    testNow,
	}
}

// build builds an adapter from an HCL source block.
func build(t testing.TB, src string) source.Adapter {
	t.Helper()
	a, _ := sourcetest.Build(t, src, standard.Build)
	return a
}

// parseOne parses a delivery that must yield exactly one event.
func parseOne(t *testing.T, a source.Adapter, body string) sdk.Event {
	t.Helper()
	d, err := a.Parse(request("msg_1", []byte(body)))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(d.Events) != 1 {
		t.Fatalf("Parse returned %d events, want 1", len(d.Events))
	}
	return d.Events[0]
}

// fixture is one of the package's own payloads in testdata.
type fixture struct {
	name string
	body []byte
}

// fixtures loads testdata/*.json, sorted by name.
func fixtures(t testing.TB) []fixture {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures in testdata: %v", err)
	}
	sort.Strings(paths)
	out := make([]fixture, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fixture{name: filepath.Base(p), body: b})
	}
	return out
}
