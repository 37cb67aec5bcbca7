package tracking

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"
)

// pixelGIF is a 1x1 transparent GIF.
var pixelGIF = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff" +
	"!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

// page is what the tracking pages show.
type page struct {
	Title   string
	Message string
	// Form adds the button that POSTs to the page's own URL.
	Form bool
}

// pageTemplate is small and self-contained: no scripts, fonts, images or
// other requests, so the page leaks nothing and works without them.
var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222;line-height:1.5}
button{font:inherit;padding:.6rem 1.4rem;border:1px solid #222;border-radius:.3rem;background:#222;color:#fff;cursor:pointer}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{if .Message}}<p>{{.Message}}</p>
{{end}}{{if .Form}}<form method="post"><input type="hidden" name="confirm" value="yes"><button type="submit">Unsubscribe</button></form>
{{end}}</body>
</html>
`))

// pageCSP allows the page's own inline style and a form posting back to
// itself, and nothing else.
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

func writePage(w http.ResponseWriter, status int, p page) {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, p); err != nil {
		// The template and its data are ours: this cannot happen short of a bug.
		http.Error(w, p.Title, status)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	hd.Set("Cache-Control", "no-store")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Content-Security-Policy", pageCSP)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// notFound is the one answer to every bad token: it says nothing about
// why, so probing learns nothing.
func notFound(w http.ResponseWriter) {
	writePage(w, http.StatusNotFound, page{
		Title:   "Link not found",
		Message: "This link is not valid.",
	})
}
