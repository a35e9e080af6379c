package oidctest

import (
	"errors"
	"html"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

var formPostPage = template.Must(template.New("form_post").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Submit this form</title></head>
<body onload="document.forms[0].submit()">
<form method="post" action="{{.Action}}">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<noscript><button type="submit">Continue</button></noscript>
</form>
</body></html>
`))

type formField struct{ Name, Value string }

// writeFormPost sends an authorization response with response_mode
// form_post (OAuth 2.0 Form Post Response Mode §2): a page whose form
// submits itself to action.
func writeFormPost(w http.ResponseWriter, action string, p url.Values) {
	var fields []formField
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range p {
			if !yield(k) {
				return
			}
		}
	}) {
		for _, v := range p[k] {
			fields = append(fields, formField{k, v})
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	formPostPage.Execute(w, struct {
		Action string
		Fields []formField
	}{action, fields})
}

var (
	formTag  = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)(?:</form\s*>|$)`)
	inputTag = regexp.MustCompile(`(?is)<input\b([^>]*)>`)
	attr     = regexp.MustCompile(`(?s)([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>` + "`" + `]+)))?`)
)

// ParseFormPost extracts the action and fields of the first form in an
// auto-submitting HTML page, such as the one the authorization endpoint
// returns for response_mode=form_post, so that tests without a browser can
// POST it. Inputs of type submit, button, reset and image are skipped.
func ParseFormPost(body io.Reader) (action string, fields url.Values, err error) {
	b, err := io.ReadAll(io.LimitReader(body, 1<<20))
	if err != nil {
		return "", nil, errors.New("oidctest: reading form_post page: " + err.Error())
	}
	m := formTag.FindSubmatch(b)
	if m == nil {
		return "", nil, errors.New("oidctest: no form in page")
	}
	fa := attrs(string(m[1]))
	if !strings.EqualFold(fa["method"], "post") {
		return "", nil, errors.New("oidctest: form method is not post")
	}
	action = fa["action"]
	if action == "" {
		return "", nil, errors.New("oidctest: form has no action")
	}
	fields = url.Values{}
	for _, in := range inputTag.FindAllSubmatch(m[2], -1) {
		a := attrs(string(in[1]))
		switch strings.ToLower(a["type"]) {
		case "submit", "button", "reset", "image":
			continue
		}
		if a["name"] != "" {
			fields.Add(a["name"], a["value"])
		}
	}
	return action, fields, nil
}

// attrs parses the attributes of an HTML start tag; names are lower-cased
// and values unescaped.
func attrs(tag string) map[string]string {
	out := map[string]string{}
	for _, m := range attr.FindAllStringSubmatch(tag, -1) {
		name := strings.ToLower(m[1])
		if _, dup := out[name]; !dup {
			out[name] = html.UnescapeString(m[2] + m[3] + m[4])
		}
	}
	return out
}
