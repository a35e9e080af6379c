package oidcmw_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/oidctest"
)

// recorder is an Observer and an OnLogout hook that keeps what it is told.
type recorder struct {
	mu      sync.Mutex
	events  []oidcmw.Event
	logouts []string // issuer + " " + subject
}

func (r *recorder) Observe(_ context.Context, e oidcmw.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) onLogout(_ context.Context, issuer, subject string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logouts = append(r.logouts, issuer+" "+subject)
}

// take returns the events and logouts since the last take.
func (r *recorder) take() ([]oidcmw.Event, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, l := r.events, r.logouts
	r.events, r.logouts = nil, nil
	return e, l
}

// wantEvent fails unless events is exactly one event of kind with the
// given reason ("" for success) and sessions count (-1: at least one).
func wantEvent(t *testing.T, step string, events []oidcmw.Event, kind oidcmw.EventKind, reason string, sessions int) oidcmw.Event {
	t.Helper()
	if len(events) != 1 || events[0].Kind != kind || events[0].Reason != reason ||
		(sessions >= 0 && events[0].Sessions != sessions) || (sessions < 0 && events[0].Sessions < 1) ||
		(reason == "") != (events[0].Err == nil) {
		t.Fatalf("%s: events %+v, want one %s with reason %q and %d sessions", step, events, kind, reason, sessions)
	}
	return events[0]
}

// TestObserverAndEvents: the observer hears of each login, refused login,
// refresh, logout, back-channel logout and store failure; logins and
// logouts are logged at Info with a hash of the subject, never the
// subject; OnLogout runs for both kinds of logout.
func TestObserverAndEvents(t *testing.T) {
	rec := &recorder{}
	store := &failingStore{}
	h := newHarness(t, setup{opts: func(o *oidcmw.Options) {
		o.Observer, o.OnLogout = rec, rec.onLogout
		store.Store = o.Store
		o.Store = store
	}})
	mux := h.app.Config.Handler.(*http.ServeMux)
	mux.HandleFunc("/auth/logout", h.m.Logout)
	mux.HandleFunc("/auth/backchannel-logout", h.m.BackchannelLogout)

	h.login(h.browser, "/")
	events, _ := rec.take()
	if e := wantEvent(t, "login", events, oidcmw.EventLogin, "", 0); e.Issuer != h.op.URL || e.Duration < 0 {
		t.Errorf("login event %+v", e)
	}
	hash := h.logs.String()
	if !strings.Contains(hash, "msg=\"oidcmw: login\"") || !strings.Contains(hash, "subject_hash=") || strings.Contains(hash, "alice") {
		t.Errorf("login record: %s", hash)
	}

	if resp, _ := h.callback(h.newBrowser(), h.app.URL+"/auth/callback?state=forged&code=x"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("forged callback: %d", resp.StatusCode)
	}
	events, _ = rec.take()
	wantEvent(t, "refused login", events, oidcmw.EventLogin, "state_mismatch", 0)

	h.clock.Advance(time.Hour - 30*time.Second) // within the refresh margin
	if resp, body := h.navigate(h.browser, "/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("after refresh: %d %q", resp.StatusCode, body)
	}
	events, _ = rec.take()
	wantEvent(t, "refresh", events, oidcmw.EventRefresh, "", 0)

	resp, _ := do(t, h.browser, http.MethodPost, h.app.URL+"/auth/logout", map[string]string{"Origin": h.app.URL}, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	events, logouts := rec.take()
	wantEvent(t, "logout", events, oidcmw.EventLogout, "", 1)
	if len(logouts) != 1 || logouts[0] != h.op.URL+" alice" {
		t.Errorf("OnLogout after Logout: %q", logouts)
	}

	h.login(h.browser, "/")
	rec.take()
	token, err := h.op.LogoutToken(oidctest.DefaultClientID, "alice", sidOf(t, h), "")
	if err != nil {
		t.Fatal(err)
	}
	if status, body := postLogoutToken(t, h.app.URL+"/auth/backchannel-logout", token); status != http.StatusOK {
		t.Fatalf("logout token: %d %s", status, body)
	}
	events, logouts = rec.take()
	wantEvent(t, "back-channel logout", events, oidcmw.EventBackchannelLogout, "", -1)
	if len(logouts) != 1 || logouts[0] != h.op.URL+" alice" {
		t.Errorf("OnLogout after a logout token: %q", logouts)
	}
	if status, _ := postLogoutToken(t, h.app.URL+"/auth/backchannel-logout", token); status != http.StatusBadRequest {
		t.Fatalf("replayed logout token: %d", status)
	}
	events, _ = rec.take()
	wantEvent(t, "replayed logout token", events, oidcmw.EventBackchannelLogout, "invalid_logout_token", 0)
	if n := strings.Count(h.logs.String(), `msg="oidcmw: logout"`); n != 2 || strings.Contains(h.logs.String(), "alice") {
		t.Errorf("%d logout records (want 2, for Logout and the logout token):\n%s", n, h.logs.String())
	}

	store.mu.Lock()
	store.fail = true
	store.mu.Unlock()
	if resp, _ := h.navigate(h.browser, "/"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("store outage: %d, want 503", resp.StatusCode)
	}
	store.mu.Lock()
	store.fail = false
	store.mu.Unlock()
	events, _ = rec.take()
	if len(events) == 0 || events[0].Kind != oidcmw.EventStoreError || events[0].Reason != "store_unavailable" {
		t.Errorf("store outage: events %+v, want a store_error first", events)
	}
}

// TestOmitSubjectInLogs: with the option, login and logout records name
// no user, not even by hash.
func TestOmitSubjectInLogs(t *testing.T) {
	h := newHarness(t, setup{opts: func(o *oidcmw.Options) { o.OmitSubjectInLogs = true }})
	h.app.Config.Handler.(*http.ServeMux).HandleFunc("/auth/logout", h.m.Logout)
	h.login(h.browser, "/")
	do(t, h.browser, http.MethodPost, h.app.URL+"/auth/logout", map[string]string{"Origin": h.app.URL}, nil)
	logs := h.logs.String()
	if !strings.Contains(logs, `msg="oidcmw: login"`) || !strings.Contains(logs, `msg="oidcmw: logout"`) || strings.Contains(logs, "subject_hash") {
		t.Errorf("records with OmitSubjectInLogs:\n%s", logs)
	}
}
