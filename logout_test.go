package oidcmw_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/oidcmw/oidcmw"
)

func TestLogout(t *testing.T) {
	h := newHarness(t, setup{})
	h.app.Config.Handler.(*http.ServeMux).HandleFunc("/auth/logout", h.m.Logout)
	h.login(h.browser, "/")
	old := h.browser.Jar.Cookies(mustParse(t, h.app.URL))

	if resp, _ := do(t, h.browser, http.MethodGet, h.app.URL+"/auth/logout", htmlAccept, nil); resp.StatusCode != 405 {
		t.Errorf("GET logout: %d", resp.StatusCode)
	}
	cross := map[string]string{"Sec-Fetch-Site": "cross-site"}
	if resp, _ := do(t, h.browser, http.MethodPost, h.app.URL+"/auth/logout", cross, nil); resp.StatusCode != 403 || !h.signedIn(h.browser) {
		t.Errorf("cross-site logout: %d", resp.StatusCode)
	}

	resp, _ := do(t, h.browser, http.MethodPost, h.app.URL+"/auth/logout", map[string]string{"Sec-Fetch-Site": "same-origin"}, nil)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, h.op.URL+"/end_session?") {
		t.Fatalf("logout: %d %q", resp.StatusCode, loc)
	}
	q := mustParse(t, loc).Query()
	if q.Get("id_token_hint") == "" || q.Get("post_logout_redirect_uri") != h.app.URL+"/" {
		t.Errorf("end_session parameters %v", q)
	}
	if h.signedIn(h.browser) {
		t.Error("still signed in")
	}
	// The old cookie, replayed, is worthless: the session is gone.
	replay := h.newBrowser()
	replay.Jar.SetCookies(mustParse(t, h.app.URL), old)
	if h.signedIn(replay) {
		t.Error("replayed session cookie still works after logout")
	}
}

func TestLogoutWithoutSession(t *testing.T) {
	h := newHarness(t, setup{opts: func(o *oidcmw.Options) { o.PostLogoutRedirectURL = "http://127.0.0.1/bye" }})
	h.app.Config.Handler.(*http.ServeMux).HandleFunc("/auth/logout", h.m.Logout)
	resp, _ := do(t, h.browser, http.MethodPost, h.app.URL+"/auth/logout", nil, nil)
	q := mustParse(t, resp.Header.Get("Location")).Query()
	if resp.StatusCode != http.StatusSeeOther || q.Has("id_token_hint") || q.Get("post_logout_redirect_uri") != "http://127.0.0.1/bye" {
		t.Errorf("logout without session: %d %v", resp.StatusCode, q)
	}
}
