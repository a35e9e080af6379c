package oidcmw_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/oidctest"
)

// TestConformance runs every OpenID conformance-suite RP test module that
// oidctest reproduces (oidctest.Modules) and checks the middleware's outcome:
// accepted, or refused without a session.
func TestConformance(t *testing.T) {
	for _, mod := range oidctest.Modules() {
		t.Run(mod.ID, func(t *testing.T) {
			s := setup{op: oidctest.Config{Alg: mod.Alg}}
			switch mod.Step {
			case oidctest.StepUserInfo:
				s.opts = func(o *oidcmw.Options) { o.FetchUserInfo = true }
			case oidctest.StepFormPost:
				s.https = true
				s.opts = func(o *oidcmw.Options) { o.ResponseMode = "form_post" }
			}
			h := newHarness(t, s)
			switch mod.Step {
			case oidctest.StepLogin, oidctest.StepUserInfo:
				authURL := h.startLogin(h.browser, "/")
				h.op.Misbehave(mod.Behaviors...)
				resp, _ := h.callback(h.browser, h.authorize(h.browser, authURL))
				conformanceOutcome(t, h, mod, resp.StatusCode == http.StatusSeeOther, resp)
			case oidctest.StepFormPost:
				authURL := h.startLogin(h.browser, "/")
				h.op.Misbehave(mod.Behaviors...)
				_, page := do(t, h.browser, http.MethodGet, authURL, htmlAccept, nil)
				action, fields, err := oidctest.ParseFormPost(strings.NewReader(page))
				if err != nil {
					t.Fatal(err)
				}
				resp, _ := do(t, h.browser, http.MethodPost, action,
					map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
					strings.NewReader(fields.Encode()))
				conformanceOutcome(t, h, mod, resp.StatusCode == http.StatusSeeOther, resp)
			case oidctest.StepDiscovery:
				h.op.Misbehave(mod.Behaviors...)
				resp, _ := h.navigate(h.browser, "/")
				conformanceOutcome(t, h, mod, resp.StatusCode == http.StatusFound, resp)
			case oidctest.StepKeyRotation:
				h.login(h.browser, "/")
				h.op.RotateKey()
				c := h.newBrowser()
				resp, _ := h.callback(c, h.authorize(c, h.startLogin(c, "/")))
				conformanceOutcome(t, h, mod, resp.StatusCode == http.StatusSeeOther, resp)
			case oidctest.StepRefresh:
				h.login(h.browser, "/")
				h.op.Misbehave(mod.Behaviors...)
				h.clock.Advance(time.Hour - 10*time.Second)
				resp, _ := do(t, h.browser, http.MethodGet, h.app.URL+"/api", jsonAccept, nil)
				refreshed := resp.StatusCode == http.StatusOK && refreshGrants(h.op) == 1
				if !mod.Accept && resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("refused refresh: %d, want 401 (session ended)", resp.StatusCode)
				}
				if refreshed != mod.Accept {
					t.Errorf("refresh accepted = %v, want %v (%v)", refreshed, mod.Accept, h.lastErr())
				}
			case oidctest.StepBackchannel:
				uri := secondInstance(t, h)
				h.login(h.browser, "/")
				token, err := h.op.LogoutToken(oidctest.DefaultClientID, "alice", sidOf(t, h), mod.Defect)
				if err != nil {
					t.Fatal(err)
				}
				status, _ := postLogoutToken(t, uri, token)
				ended := !h.signedIn(h.browser)
				if accepted := status == http.StatusOK; accepted != mod.Accept || ended != mod.Accept {
					t.Errorf("logout token: %d, session ended %v; want accepted %v", status, ended, mod.Accept)
				}
			default:
				t.Fatalf("unknown step %q", mod.Step)
			}
		})
	}
}

// conformanceOutcome checks an accepted step signed the browser in, and a
// refused one answered an error without a session.
func conformanceOutcome(t *testing.T, h *harness, mod oidctest.Module, ok bool, resp *http.Response) {
	t.Helper()
	switch {
	case mod.Accept && !ok:
		t.Fatalf("refused (%d, %v), want accepted", resp.StatusCode, h.lastErr())
	case !mod.Accept && ok:
		t.Fatalf("accepted, want refused")
	case !mod.Accept && resp.StatusCode < 400:
		t.Fatalf("refused with status %d, want an error status", resp.StatusCode)
	case !mod.Accept:
		assertNoSession(t, h, resp)
	}
}
