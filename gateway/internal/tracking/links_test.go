package tracking_test

import (
	"html"
	"strings"
	"testing"
	"time"

	xhtml "golang.org/x/net/html"

	"github.com/triggergate/triggergate/gateway/internal/tracking"
)

const base = "https://t.example.com"

func newLinks(t testing.TB) (*tracking.Links, *tracking.Signer) {
	t.Helper()
	s := newSigner(t, keyA)
	l, err := tracking.NewLinks(base, s)
	if err != nil {
		t.Fatalf("NewLinks: %v", err)
	}
	return l, s
}

func TestNewLinks(t *testing.T) {
	t.Parallel()
	s := newSigner(t, keyA)
	cases := []struct {
		base, unsub string // unsub is the URL's prefix; "" means NewLinks must fail
	}{
		{"https://t.example.com", "https://t.example.com/t/u/"},
		{"https://t.example.com/", "https://t.example.com/t/u/"},
		{"HTTPS://t.example.com/track/", "https://t.example.com/track/t/u/"},
		{"http://localhost:8080", "http://localhost:8080/t/u/"},
		{"http://127.0.0.1:9", "http://127.0.0.1:9/t/u/"},
		{"http://[::1]:9", "http://[::1]:9/t/u/"},
		{"http://t.example.com", ""},
		{"ftp://t.example.com", ""},
		{"t.example.com", ""},
		{"/t", ""},
		{"", ""},
		{"https://t.example.com/?x=1", ""},
		{"https://t.example.com/#x", ""},
		{"https://user@t.example.com", ""},
	}
	for _, tc := range cases {
		t.Run(tc.base, func(t *testing.T) {
			t.Parallel()
			l, err := tracking.NewLinks(tc.base, s)
			if tc.unsub == "" {
				if err == nil {
					t.Fatalf("NewLinks(%q) accepted", tc.base)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewLinks(%q): %v", tc.base, err)
			}
			if u := l.UnsubscribeURL(baseClaims()); !strings.HasPrefix(u, tc.unsub) {
				t.Fatalf("UnsubscribeURL = %q, want prefix %q", u, tc.unsub)
			}
		})
	}
	if _, err := tracking.NewLinks(base, nil); err == nil {
		t.Fatal("NewLinks without a signer accepted")
	}
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	l, s := newLinks(t)
	c := withKind(baseClaims(), tracking.KindClick, "https://shop.example.com/") // kind and URL are overridden
	h := l.Headers(c)
	if len(h) != 2 || h["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" {
		t.Fatalf("Headers = %v", h)
	}
	lu := h["List-Unsubscribe"]
	if !strings.HasPrefix(lu, "<"+base+"/t/u/") || !strings.HasSuffix(lu, ">") {
		t.Fatalf("List-Unsubscribe = %q, want <%s/t/u/TOKEN>", lu, base)
	}
	if lu[1:len(lu)-1] != l.UnsubscribeURL(c) {
		t.Fatalf("List-Unsubscribe %q differs from UnsubscribeURL %q", lu, l.UnsubscribeURL(c))
	}
	got, err := s.Parse(strings.TrimPrefix(lu[1:len(lu)-1], base+"/t/u/"))
	if err != nil {
		t.Fatal(err)
	}
	if want := withKind(baseClaims(), tracking.KindUnsubscribe, ""); got != want {
		t.Fatalf("unsubscribe claims = %+v, want %+v", got, want)
	}
}

func TestDecorate(t *testing.T) {
	t.Parallel()
	l, s := newLinks(t)
	c := baseClaims()
	click := func(u string) string {
		return html.EscapeString(base + "/t/c/" + s.Token(withKind(c, tracking.KindClick, u)))
	}
	pixel := `<img src="` + base + "/t/o/" + s.Token(withKind(c, tracking.KindOpen, "")) + `" width="1" height="1" alt="" style="display:none">`
	longURL := "https://shop.example.com/?q=" + strings.Repeat("x", 3200)

	cases := []struct {
		name, in, want string
	}{
		{
			name: "newsletter",
			in: "<!DOCTYPE html>\r\n<html><head><meta charset=\"utf-8\"><title>Your cart</title>\n" +
				"<style>a{color:red}</style></head>\n<body>\n" +
				"<p>Hi Jane, <a href=\"https://shop.example.com/cart?id=7&amp;utm_source=email\" class=\"btn\" style=\"color:#fff\">finish your order</a>.</p>\n" +
				"<p><a href=\"https://shop.example.com/p/1\"><img src=\"https://cdn.example.com/1.png\" alt=\"Shoe\"></a></p>\n" +
				"</body>\n</html>\n",
			want: "<!DOCTYPE html>\r\n<html><head><meta charset=\"utf-8\"><title>Your cart</title>\n" +
				"<style>a{color:red}</style></head>\n<body>\n" +
				"<p>Hi Jane, <a href=\"" + click("https://shop.example.com/cart?id=7&utm_source=email") + "\" class=\"btn\" style=\"color:#fff\">finish your order</a>.</p>\n" +
				"<p><a href=\"" + click("https://shop.example.com/p/1") + "\"><img src=\"https://cdn.example.com/1.png\" alt=\"Shoe\"></a></p>\n" +
				pixel + "</body>\n</html>\n",
		},
		{
			name: "links left alone",
			in: `<a href="mailto:help@example.com?subject=Hi">mail</a> <a href="tel:+12025550101">call</a> ` +
				`<a href="#top">top</a> <a href="/account">rel</a> <a href="../faq">up</a> <a href="//shop.example.com/x">proto</a> ` +
				`<a href="https://shop.example.com/private" data-notrack>no</a> <a data-notrack="1" href="https://shop.example.com/x">no</a> ` +
				`<a href="https://t.example.com/t/c/abc">tracked</a> <a href="https://T.EXAMPLE.COM/t/u/abc">unsub</a> ` +
				`<a name="anchor">no href</a> <a href="">empty</a> <a href>bare</a>`,
			want: `<a href="mailto:help@example.com?subject=Hi">mail</a> <a href="tel:+12025550101">call</a> ` +
				`<a href="#top">top</a> <a href="/account">rel</a> <a href="../faq">up</a> <a href="//shop.example.com/x">proto</a> ` +
				`<a href="https://shop.example.com/private" data-notrack>no</a> <a data-notrack="1" href="https://shop.example.com/x">no</a> ` +
				`<a href="https://t.example.com/t/c/abc">tracked</a> <a href="https://T.EXAMPLE.COM/t/u/abc">unsub</a> ` +
				`<a name="anchor">no href</a> <a href="">empty</a> <a href>bare</a>` + pixel,
		},
		{
			name: "javascript and other schemes",
			in:   `<a href="javascript:alert(1)">x</a><a href=" JavaScript:alert(1)">x</a><a href="java&#x09;script:alert(1)">x</a><a href="data:text/html,hi">x</a><a href="ftp://files.example.com/">x</a>`,
			want: `<a href="javascript:alert(1)">x</a><a href=" JavaScript:alert(1)">x</a><a href="java&#x09;script:alert(1)">x</a><a href="data:text/html,hi">x</a><a href="ftp://files.example.com/">x</a>` + pixel,
		},
		{
			name: "uppercase tags",
			in:   "<HTML><BODY><A HREF=\"https://shop.example.com/A\" TITLE=\"T\">x</A></BODY></HTML>",
			want: "<HTML><BODY><A HREF=\"" + click("https://shop.example.com/A") + "\" TITLE=\"T\">x</A>" + pixel + "</BODY></HTML>",
		},
		{
			name: "single quotes",
			in:   `<a class='c' href='https://shop.example.com/?a=1&amp;b="2"' title='it&#39;s'>x</a>`,
			want: `<a class='c' href='` + click(`https://shop.example.com/?a=1&b="2"`) + `' title='it&#39;s'>x</a>` + pixel,
		},
		{
			name: "unquoted and odd spacing",
			in:   "<a\n  id=x   href = https://shop.example.com/u?a=1 >x</a><area shape=rect href=https://shop.example.com/map>",
			want: "<a\n  id=x   href = \"" + click("https://shop.example.com/u?a=1") + "\" >x</a><area shape=rect href=\"" + click("https://shop.example.com/map") + "\">" + pixel,
		},
		{
			name: "area in an image map",
			in:   `<map name="m"><area shape="rect" coords="0,0,10,10" href="https://shop.example.com/sale" alt="Sale"/></map>`,
			want: `<map name="m"><area shape="rect" coords="0,0,10,10" href="` + click("https://shop.example.com/sale") + `" alt="Sale"/></map>` + pixel,
		},
		{
			name: "first of two hrefs, as browsers use",
			in:   `<a href="https://first.example.com/" HREF="https://second.example.com/">x</a>`,
			want: `<a href="` + click("https://first.example.com/") + `" HREF="https://second.example.com/">x</a>` + pixel,
		},
		{
			name: "white space around the URL",
			in:   "<a href=\" \thttps://shop.example.com/ws \n\">x</a>",
			want: "<a href=\"" + click("https://shop.example.com/ws") + "\">x</a>" + pixel,
		},
		{
			name: "attribute entities decoded as browsers do",
			in:   `<a href="https://shop.example.com/?a=1&copy=2&amp;b=3&#x26;c=4">x</a>`,
			want: `<a href="` + click("https://shop.example.com/?a=1&copy=2&b=3&c=4") + `">x</a>` + pixel,
		},
		{
			name: "links in comments, scripts and titles",
			in:   `<title><a href="https://x.example.com/">t</a></title><!-- <a href="https://x.example.com/"> --><script>document.write('<a href="https://x.example.com/">')</script><body></body>`,
			want: `<title><a href="https://x.example.com/">t</a></title><!-- <a href="https://x.example.com/"> --><script>document.write('<a href="https://x.example.com/">')</script><body>` + pixel + `</body>`,
		},
		{
			name: "pixel only once, before the first body end",
			in:   `<body><p>one</p></body><body></body>`,
			want: `<body><p>one</p>` + pixel + `</body><body></body>`,
		},
		{
			name: "already decorated",
			in:   `<p><img src="https://t.example.com/t/o/abc" width="1" height="1"></p></body>`,
			want: `<p><img src="https://t.example.com/t/o/abc" width="1" height="1"></p></body>`,
		},
		{
			name: "link too long to track",
			in:   `<a href="` + longURL + `">x</a>`,
			want: `<a href="` + longURL + `">x</a>` + pixel,
		},
		{
			name: "text only",
			in:   "Hello & goodbye < 3",
			want: "Hello & goodbye < 3" + pixel,
		},
		{
			name: "empty",
			in:   "",
			want: pixel,
		},
		{
			name: "cut short inside a tag",
			in:   `<p>x</p><a href="https://shop.example.com/`,
			want: `<p>x</p><a href="https://shop.example.com/` + pixel,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := l.Decorate(tc.in, c)
			if err != nil {
				t.Fatalf("Decorate: %v", err)
			}
			if got != tc.want {
				t.Fatalf("Decorate:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestDecorateIsIdempotent(t *testing.T) {
	t.Parallel()
	l, _ := newLinks(t)
	in := `<html><body><a href="https://shop.example.com/a?x=1&amp;y=2">a</a><area href='https://shop.example.com/b'></body></html>`
	once, err := l.Decorate(in, baseClaims())
	if err != nil {
		t.Fatal(err)
	}
	twice, err := l.Decorate(once, baseClaims())
	if err != nil {
		t.Fatal(err)
	}
	if once != twice {
		t.Fatalf("second Decorate changed the message:\n once %q\ntwice %q", once, twice)
	}
}

// TestDecoratedLinksParseBack follows each rewritten link the way a mail
// client would: it reads the href from the HTML and parses its token.
func TestDecoratedLinksParseBack(t *testing.T) {
	t.Parallel()
	l, s := newLinks(t)
	c := baseClaims()
	c.IssuedAt = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	in := `<body><a href="https://shop.example.com/cart?id=7&amp;utm_source=email">a</a>` +
		`<a class='x' href='https://shop.example.com/"q"?a=&lt;b&gt;'>b</a>` +
		`<area href=https://shop.example.com/p/%E2%9C%93>` +
		`<a href="mailto:x@example.com">m</a></body>`
	want := []string{
		"https://shop.example.com/cart?id=7&utm_source=email",
		`https://shop.example.com/"q"?a=<b>`,
		"https://shop.example.com/p/%E2%9C%93",
	}
	out, err := l.Decorate(in, c)
	if err != nil {
		t.Fatal(err)
	}
	var clicks []string
	var opens int
	z := xhtml.NewTokenizer(strings.NewReader(out))
	for tt := z.Next(); tt != xhtml.ErrorToken; tt = z.Next() {
		tok := z.Token()
		for _, a := range tok.Attr {
			switch {
			case (a.Key == "href") && strings.HasPrefix(a.Val, base+"/t/c/"):
				got, err := s.Parse(strings.TrimPrefix(a.Val, base+"/t/c/"))
				if err != nil {
					t.Fatalf("click token in %q: %v", a.Val, err)
				}
				if got.Kind != tracking.KindClick || got.MessageID != c.MessageID || got.Customer != c.Customer || got.Variant != c.Variant {
					t.Fatalf("click claims = %+v", got)
				}
				clicks = append(clicks, got.URL)
			case a.Key == "src" && strings.HasPrefix(a.Val, base+"/t/o/"):
				got, err := s.Parse(strings.TrimPrefix(a.Val, base+"/t/o/"))
				if err != nil || got.Kind != tracking.KindOpen || got.MessageID != c.MessageID {
					t.Fatalf("open token: %+v, %v", got, err)
				}
				opens++
			}
		}
	}
	if strings.Join(clicks, "\n") != strings.Join(want, "\n") {
		t.Fatalf("clicks lead to\n%q\nwant\n%q", clicks, want)
	}
	if opens != 1 {
		t.Fatalf("%d open pixels, want 1", opens)
	}
}

func TestDecorateRefusesInvalidClaims(t *testing.T) {
	t.Parallel()
	l, _ := newLinks(t)
	for name, c := range map[string]tracking.Claims{
		"no message id": {Customer: "id:1"},
		"bad customer":  {MessageID: "m", Customer: "nobody"},
	} {
		if out, err := l.Decorate("<a href=\"https://x.example.com/\">x</a>", c); err == nil {
			t.Errorf("%s: Decorate = %q, want an error", name, out)
		}
	}
}

func BenchmarkDecorate(b *testing.B) {
	l, _ := newLinks(b)
	var doc strings.Builder
	doc.WriteString("<!DOCTYPE html><html><head><title>News</title></head><body>")
	for i := range 20 {
		doc.WriteString(`<p>Item <a href="https://shop.example.com/p/` + strings.Repeat("x", i) + `?utm_source=email&amp;utm_medium=news" class="btn">buy</a></p>`)
	}
	doc.WriteString(`<p><a href="mailto:help@example.com">help</a></p></body></html>`)
	in := doc.String()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Decorate(in, baseClaims()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	s := newSigner(b, keyB, keyA) // the token is signed with the second key: the worst case
	tok := newSigner(b, keyA).Token(withKind(baseClaims(), tracking.KindClick, "https://shop.example.com/cart?id=7&utm_source=email"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Parse(tok); err != nil {
			b.Fatal(err)
		}
	}
}
