package oidcmw_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/internal/storetest"
	"github.com/oidcmw/oidcmw/oidctest"
)

// TestProviderOutageUnderLoad: the token endpoint answers 503 while
// signed-in browsers, whose access tokens have expired, send guarded
// requests at once and without pause (each needs a refresh). The
// provider's circuit opens: requests answer 503 at once, with
// Retry-After, and fewer than 20 reach the token endpoint during the
// cool-down; once it answers again, requests succeed within one
// cool-down; the log holds the outage, not its requests.
func TestProviderOutageUnderLoad(t *testing.T) {
	const coolDown, interval = 500 * time.Millisecond, 200 * time.Millisecond
	circuit := storetest.NewCircuit()
	h := newHarness(t, setup{opts: func(o *oidcmw.Options) {
		o.CircuitBreaker = oidcmw.CircuitBreaker{CoolDown: coolDown, LogInterval: interval}
		circuit.Options(o)
	}})
	var browsers []*http.Client
	for range 8 {
		b := h.newBrowser()
		h.login(b, "/")
		browsers = append(browsers, b)
	}
	h.clock.Advance(time.Hour + time.Minute) // every access token has expired
	h.op.Misbehave(oidctest.TokenUnavailable)
	load := storetest.StartLoad(browsers, h.app.URL+"/", "application/json")
	defer load.Stop()

	opened := circuit.WaitOpen(t, 10*time.Second)
	stopped := opened
	before := h.op.Count("/token")
	time.Sleep(coolDown * 9 / 10)
	during := h.op.Count("/token") - before
	refused := load.Between(opened, opened.Add(coolDown*9/10))
	if len(refused) == 0 {
		t.Fatal("no request while the circuit was open")
	}
	for _, s := range refused {
		if s.Status != http.StatusServiceUnavailable {
			t.Fatalf("a request during the outage got %d, want 503", s.Status)
		}
	}
	if med := storetest.Median(refused); med >= 10*time.Millisecond {
		t.Errorf("median answer with the circuit open: %v over %d requests, want under 10 ms", med, len(refused))
	}
	if during >= 20 {
		t.Errorf("%d token requests during the cool-down, want fewer than 20", during)
	}
	resp, _ := do(t, browsers[0], http.MethodGet, h.app.URL+"/", map[string]string{"Accept": "application/json"}, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("with the circuit open: %d, Retry-After %q, want 503 and the cool-down rounded up (1)", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	h.op.Misbehave()
	started := time.Now()
	var ok time.Time
	for deadline := started.Add(coolDown + 2*time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var found bool
		if ok, found = load.FirstOK(started); found {
			break
		}
	}
	if ok.IsZero() || ok.Sub(started) > coolDown+250*time.Millisecond {
		t.Errorf("first success %v after the provider came back, want within one cool-down (%v)", ok.Sub(started), coolDown)
	}
	circuit.WaitRecovered(t, 5*time.Second) // logged after a quiet spell
	load.Stop()
	t.Logf("%d requests refused in %v with the circuit open, median %v; %d token requests then",
		len(refused), coolDown*9/10, storetest.Median(refused), during)
	circuit.CheckOutageLog(t, "provider", interval, time.Since(stopped))
}
