package storetest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/oidctest"
)

// Circuit is what an outage test needs to see of the middleware: its
// circuit events and its log.
type Circuit struct {
	mu     sync.Mutex
	log    bytes.Buffer
	opened chan time.Time // a circuit opened
}

// NewCircuit returns a Circuit; wire it with Options.
func NewCircuit() *Circuit { return &Circuit{opened: make(chan time.Time, 64)} }

// Options sets o's Observer and Logger to c.
func (c *Circuit) Options(o *oidcmw.Options) {
	o.Observer = c
	o.Logger = slog.New(slog.NewTextHandler(c, nil))
}

// Observe implements oidcmw.Observer.
func (c *Circuit) Observe(_ context.Context, e oidcmw.Event) {
	if e.Kind == oidcmw.EventCircuit && e.State == "open" {
		select {
		case c.opened <- time.Now():
		default:
		}
	}
}

// Write is the log's writer.
func (c *Circuit) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.log.Write(p)
}

// Log is what was logged.
func (c *Circuit) Log() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.log.String()
}

// WaitRecovered waits until the log has a recovery.
func (c *Circuit) WaitRecovered(t *testing.T, within time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(within); !strings.Contains(c.Log(), `msg="oidcmw: dependency recovered"`); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no recovery logged within %v; log:\n%s", within, c.Log())
		}
	}
}

// WaitOpen waits for a circuit to open and returns when it did.
func (c *Circuit) WaitOpen(t *testing.T, within time.Duration) time.Time {
	t.Helper()
	select {
	case at := <-c.opened:
		return at
	case <-time.After(within):
		t.Fatalf("no circuit opened within %v; log:\n%s", within, c.Log())
		return time.Time{}
	}
}

// CheckOutageLog checks that the log holds, for dependency, one warning
// when the outage started, at most one summary per interval of an outage
// that lasted lasted, one record of the recovery, and no other warning or
// error: the requests the outage failed are not logged one by one.
func (c *Circuit) CheckOutageLog(t *testing.T, dependency string, interval, lasted time.Duration) {
	t.Helper()
	log := c.Log()
	count := func(s string) int { return strings.Count(log, s) }
	dep := "dependency=" + dependency
	var failing, summaries, recovered, others int
	for line := range strings.Lines(log) {
		switch {
		case strings.Contains(line, `msg="oidcmw: dependency failing`) && strings.Contains(line, dep):
			failing++
		case strings.Contains(line, `msg="oidcmw: dependency still failing"`) && strings.Contains(line, dep):
			summaries++
		case strings.Contains(line, `msg="oidcmw: dependency recovered"`) && strings.Contains(line, dep):
			recovered++
		case strings.Contains(line, "level=WARN"), strings.Contains(line, "level=ERROR"):
			others++
		}
	}
	if max := int(lasted/interval) + 1; failing != 1 || recovered != 1 || summaries > max || others != 0 {
		t.Errorf("outage log of %s: %d warnings (want 1), %d summaries (want at most %d), %d recoveries (want 1), %d other warnings or errors (want 0); %d lines:\n%s",
			dependency, failing, summaries, max, recovered, others, count("\n"), log)
	}
}

// OutageUnderLoad: browsers signed in through an app on store send
// guarded requests at once and without pause; stop takes the store's
// server away. Once the circuit opens, requests answer 503 in under 10 ms
// (median) and fewer than 20 reach the store (calls counts them) during
// the cool-down; after start (which returns once the store's client
// reaches it again), requests succeed within one cool-down,
// without a restart; the log holds the outage, not its requests.
func OutageUnderLoad(t *testing.T, store oidcmw.Store, stop, start func(), calls func() int64) {
	t.Helper()
	const coolDown, interval = 500 * time.Millisecond, 200 * time.Millisecond
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	defer app.Close()
	circuit := NewCircuit()
	opts := oidcmw.Options{
		Issuer: op.URL, ClientID: oidctest.DefaultClientID, ClientSecret: oidctest.DefaultClientSecret,
		RedirectURL: app.URL + "/auth/callback", Store: store, HTTPClient: op.Client(),
		CircuitBreaker: oidcmw.CircuitBreaker{CoolDown: coolDown, LogInterval: interval},
	}
	circuit.Options(&opts)
	m, err := oidcmw.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/auth/", m.Routes())
	mux.Handle("/", m.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })))

	var browsers []*http.Client
	for range 8 {
		jar, _ := cookiejar.New(nil)
		b := &http.Client{Jar: jar, Timeout: 10 * time.Second}
		req, _ := http.NewRequest(http.MethodGet, app.URL+"/", nil)
		req.Header.Set("Accept", "text/html")
		resp, err := b.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("login: %v %v", resp, err)
		}
		resp.Body.Close()
		browsers = append(browsers, b)
	}
	load := StartLoad(browsers, app.URL+"/", "application/json")
	defer load.Stop()

	stop()
	stopped := time.Now()
	opened := circuit.WaitOpen(t, 10*time.Second)
	before := calls()
	time.Sleep(coolDown * 9 / 10)
	during := calls() - before
	refused := load.Between(opened, opened.Add(coolDown*9/10))
	if len(refused) == 0 {
		t.Fatal("no request while the circuit was open")
	}
	for _, s := range refused {
		if s.Status != http.StatusServiceUnavailable {
			t.Fatalf("a request during the outage got %d, want 503", s.Status)
		}
	}
	if med := Median(refused); med >= 10*time.Millisecond {
		t.Errorf("median answer with the circuit open: %v over %d requests, want under 10 ms", med, len(refused))
	}
	if during >= 20 {
		t.Errorf("%d calls reached the store during the cool-down, want fewer than 20", during)
	}

	start()
	started := time.Now()
	deadline := started.Add(coolDown + 2*time.Second)
	var ok time.Time
	for time.Now().Before(deadline) {
		var found bool
		if ok, found = load.FirstOK(started); found {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if ok.IsZero() || ok.Sub(started) > coolDown+250*time.Millisecond {
		t.Errorf("first success %v after the store came back, want within one cool-down (%v)", ok.Sub(started), coolDown)
	}
	circuit.WaitRecovered(t, 5*time.Second) // logged after a quiet spell
	load.Stop()
	t.Logf("%d requests refused in %v with the circuit open, median %v; %d store calls then",
		len(refused), coolDown*9/10, Median(refused), during)
	circuit.CheckOutageLog(t, "store", interval, time.Since(stopped))
}
