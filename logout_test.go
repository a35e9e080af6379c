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

	resp, body := do(t, h.browser, http.MethodPost, h.app.URL+"/auth/logout", map[string]string{"Sec-Fetch-Site": "same-origin"}, nil)
	target, q := endSession(t, resp, body)
	if resp.StatusCode != http.StatusOK || target != h.op.URL+"/end_session" {
		t.Fatalf("logout: %d to %q, want the form page (200) posting to end_session", resp.StatusCode, target)
	}
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
	resp, body := do(t, h.browser, http.MethodPost, h.app.URL+"/auth/logout", nil, nil)
	_, q := endSession(t, resp, body)
	if resp.StatusCode != http.StatusOK || q.Has("id_token_hint") || q.Get("post_logout_redirect_uri") != "http://127.0.0.1/bye" {
		t.Errorf("logout without session: %d %v", resp.StatusCode, q)
	}
}

// TestLogoutEndSessionPOST: by default the end-session request is a form
// the browser posts, and the ID token is in no URL; with EndSessionGET it
// is a redirect with the ID token in the URL.
func TestLogoutEndSessionPOST(t *testing.T) {
	for _, get := range []bool{false, true} {
		h := newHarness(t, setup{opts: func(o *oidcmw.Options) { o.EndSessionGET = get }})
		h.app.Config.Handler.(*http.ServeMux).HandleFunc("/auth/logout", h.m.Logout)
		h.login(h.browser, "/")
		idToken := whoami(h)().IDToken
		resp, body := do(t, h.browser, http.MethodPost, h.app.URL+"/auth/logout", map[string]string{"Origin": h.app.URL}, nil)
		target, params := endSession(t, resp, body)
		if target != h.op.URL+"/end_session" || params.Get("id_token_hint") != idToken {
			t.Fatalf("get=%v: end session at %q with %v", get, target, params)
		}
		loc := resp.Header.Get("Location")
		if get {
			if resp.StatusCode != http.StatusSeeOther || mustParse(t, loc).Query().Get("id_token_hint") != idToken {
				t.Fatalf("EndSessionGET: %d %q", resp.StatusCode, loc)
			}
			continue
		}
		if resp.StatusCode != http.StatusOK || loc != "" {
			t.Fatalf("POST form: %d, Location %q", resp.StatusCode, loc)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'sha256-") ||
			resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("form page headers: CSP %q, Cache-Control %q", csp, resp.Header.Get("Cache-Control"))
		}
		// The provider takes the POST and lands the browser back here.
		resp, _ = do(t, h.browser, http.MethodPost, target, map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			strings.NewReader(params.Encode()))
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), h.app.URL+"/") {
			t.Fatalf("end_session by POST: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}
