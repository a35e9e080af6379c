package otelobserver_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/adapters/otelobserver"
	"github.com/oidcmw/oidcmw/internal/storetest"
	"github.com/oidcmw/oidcmw/oidctest"
)

// newObserver returns an Observer on an SDK MeterProvider and the reader
// that collects what it recorded.
func newObserver(t *testing.T) (*otelobserver.Observer, *sdkmetric.ManualReader) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { mp.Shutdown(context.Background()) })
	obs, err := otelobserver.New(mp)
	if err != nil {
		t.Fatal(err)
	}
	return obs, reader
}

// series collects reader and returns every data point as
// `name{attr=value,...}`, with the value of a counter or a gauge, or the
// count of a histogram. The provider attribute is checked to be provider on every
// point, and left out of the key.
func series(t *testing.T, reader *sdkmetric.ManualReader, provider string) map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	key := func(name string, set attribute.Set) string {
		var attrs []string
		for _, kv := range set.ToSlice() {
			if kv.Key == "provider" {
				if v := kv.Value.AsString(); v != provider {
					t.Errorf("%s: provider %q, want %q", name, v, provider)
				}
				continue
			}
			attrs = append(attrs, string(kv.Key)+"="+kv.Value.String())
		}
		if !set.HasValue("provider") {
			t.Errorf("%s{%s}: no provider attribute", name, strings.Join(attrs, ","))
		}
		return name + "{" + strings.Join(attrs, ",") + "}"
	}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelobserver.MeterName {
			t.Errorf("scope %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				if !d.IsMonotonic || d.Temporality != metricdata.CumulativeTemporality {
					t.Errorf("%s is not a cumulative counter", m.Name)
				}
				for _, p := range d.DataPoints {
					got[key(m.Name, p.Attributes)] += float64(p.Value)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					got[key(m.Name, p.Attributes)] += float64(p.Count)
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					k := key(m.Name, p.Attributes)
					if _, dup := got[k]; dup {
						t.Errorf("%s: two points", k)
					}
					got[k] = float64(p.Value)
				}
			default:
				t.Errorf("%s: unexpected data %T", m.Name, m.Data)
			}
		}
	}
	return got
}

// wantSeries fails unless got is exactly want.
func wantSeries(t *testing.T, got, want map[string]float64) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected %s = %v", k, got[k])
		}
	}
}

// app is an application behind the middleware with the observer, at a test
// OP, both on one settable clock.
type app struct {
	op     *oidctest.Server
	srv    *httptest.Server
	clock  *storetest.Clock
	reader *sdkmetric.ManualReader
}

func newApp(t *testing.T, opts ...func(*oidcmw.Options)) *app {
	t.Helper()
	a := &app{clock: storetest.NewClock(time.Unix(1_800_000_000, 0))}
	a.op = oidctest.NewServer(oidctest.Config{Now: a.clock.Now})
	t.Cleanup(a.op.Close)
	mux := http.NewServeMux()
	a.srv = httptest.NewServer(mux)
	t.Cleanup(a.srv.Close)
	var obs *otelobserver.Observer
	obs, a.reader = newObserver(t)
	o := oidcmw.Options{
		Issuer:       a.op.URL,
		ClientID:     oidctest.DefaultClientID,
		ClientSecret: oidctest.DefaultClientSecret,
		RedirectURL:  a.srv.URL + "/auth/callback",
		Store:        oidcmw.NewMemoryStore(a.clock.Now),
		Now:          a.clock.Now,
		HTTPClient:   &http.Client{Timeout: 2 * time.Second},
		Observer:     obs,
	}
	for _, opt := range opts {
		opt(&o)
	}
	m, err := oidcmw.New(o)
	if err != nil {
		t.Fatal(err)
	}
	mux.HandleFunc("GET /auth/callback", m.Callback)
	mux.HandleFunc("POST /auth/logout", m.Logout)
	mux.HandleFunc("POST /auth/backchannel", m.BackchannelLogout)
	mux.Handle("/", m.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := oidcmw.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s", id.Subject)
	})))
	return a
}

// browser is a client with a cookie jar that follows redirects (through
// the OP's login, which oidctest approves at once).
func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 5 * time.Second}
}

// send makes a request as a browser on the app's page and returns the final
// status and body.
func send(t *testing.T, c *http.Client, method, u, origin string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestLoginAndFailedCallback: one login through the OP and one callback
// with a state that no login issued are counted with their outcome, reason
// and provider.
func TestLoginAndFailedCallback(t *testing.T) {
	a := newApp(t)
	if status, body := send(t, browser(), "GET", a.srv.URL+"/", ""); status != 200 || body != "hello alice" {
		t.Fatalf("login: %d %q", status, body)
	}
	bogus := a.srv.URL + "/auth/callback?" + url.Values{"state": {"bogus"}, "code": {"x"}}.Encode()
	if status, _ := send(t, browser(), "GET", bogus, ""); status != http.StatusBadRequest {
		t.Fatalf("callback with a bogus state: %d", status)
	}
	wantSeries(t, series(t, a.reader, a.op.URL), map[string]float64{
		"oidcmw.logins{outcome=success}":                       1,
		"oidcmw.logins{outcome=failure,reason=state_mismatch}": 1,
		"oidcmw.login.duration{outcome=success}":               1,
	})
}

// TestRefreshAndLogouts: a refresh at the token endpoint, back-channel
// logouts by the OP (one valid, one not) and a logout by the user.
func TestRefreshAndLogouts(t *testing.T) {
	a := newApp(t)
	c := browser()
	if status, _ := send(t, c, "GET", a.srv.URL+"/", ""); status != 200 {
		t.Fatalf("login: %d", status)
	}
	a.clock.Advance(time.Hour - 30*time.Second) // within the refresh margin
	if status, _ := send(t, c, "GET", a.srv.URL+"/", ""); status != 200 {
		t.Fatalf("after refresh: %d", status)
	}
	ctx := context.Background()
	for _, c := range []struct {
		defect oidctest.LogoutTokenDefect
		status int
	}{{"", 200}, {oidctest.LogoutBadSignature, 400}} {
		tok, err := a.op.LogoutToken(oidctest.DefaultClientID, "alice", "", c.defect)
		if err != nil {
			t.Fatal(err)
		}
		status, body, err := a.op.SendBackchannelLogout(ctx, a.srv.URL+"/auth/backchannel", tok)
		if err != nil || status != c.status {
			t.Fatalf("back-channel logout %q: %d %s %v", c.defect, status, body, err)
		}
	}

	c = browser()
	if status, _ := send(t, c, "GET", a.srv.URL+"/", ""); status != 200 {
		t.Fatalf("second login: %d", status)
	}
	if status, _ := send(t, c, "POST", a.srv.URL+"/auth/logout", a.srv.URL); status != 200 {
		t.Fatalf("logout: %d", status)
	}

	wantSeries(t, series(t, a.reader, a.op.URL), map[string]float64{
		"oidcmw.logins{outcome=success}":                                                      2,
		"oidcmw.login.duration{outcome=success}":                                              2,
		"oidcmw.refreshes{outcome=success}":                                                   1,
		"oidcmw.refresh.duration{outcome=success}":                                            1,
		"oidcmw.logouts{kind=logout,outcome=success}":                                         1,
		"oidcmw.logouts{kind=backchannel_logout,outcome=success}":                             1,
		"oidcmw.logouts{kind=backchannel_logout,outcome=failure,reason=invalid_logout_token}": 1,
		"oidcmw.logout.sessions{kind=logout}":                                                 1,
		"oidcmw.logout.sessions{kind=backchannel_logout}":                                     1,
	})
}

// TestObserve: every kind of event, as the middleware reports it, lands on
// its instruments with its attributes; durations in seconds.
func TestObserve(t *testing.T) {
	obs, reader := newObserver(t)
	const iss = "https://op.example.com"
	errStore := fmt.Errorf("%w: connection refused", oidcmw.ErrStoreUnavailable)
	for _, e := range []oidcmw.Event{
		{Kind: oidcmw.EventLogin, Duration: 1500 * time.Millisecond},
		{Kind: oidcmw.EventLogin, Err: oidcmw.ErrLoginExpired, Reason: "login_expired"},
		{Kind: oidcmw.EventRefresh, Duration: 20 * time.Millisecond},
		{Kind: oidcmw.EventRefresh, Err: oidcmw.ErrProviderUnavailable, Reason: "provider_unavailable", Duration: 2 * time.Second},
		{Kind: oidcmw.EventLogout, Sessions: 1},
		{Kind: oidcmw.EventLogout}, // no session to end
		{Kind: oidcmw.EventLogout, Err: errStore, Reason: "store_unavailable"},
		{Kind: oidcmw.EventBackchannelLogout, Sessions: 3},
		{Kind: oidcmw.EventStoreError, Err: errStore, Reason: "store_unavailable"},
		{Kind: oidcmw.EventCircuit, Dependency: "store", State: "open"},
		{Kind: oidcmw.EventRefused, Dependency: "store"},
		{Kind: oidcmw.EventRefused, Dependency: "store"},
		{Kind: oidcmw.EventCircuit, Dependency: "provider", State: "half-open"},
		{Kind: "unknown"},
	} {
		e.Issuer = iss
		obs.Observe(context.Background(), e)
	}
	wantSeries(t, series(t, reader, iss), map[string]float64{
		"oidcmw.logins{outcome=success}":                                       1,
		"oidcmw.logins{outcome=failure,reason=login_expired}":                  1,
		"oidcmw.login.duration{outcome=success}":                               1,
		"oidcmw.refreshes{outcome=success}":                                    1,
		"oidcmw.refreshes{outcome=failure,reason=provider_unavailable}":        1,
		"oidcmw.refresh.duration{outcome=success}":                             1,
		"oidcmw.refresh.duration{outcome=failure}":                             1,
		"oidcmw.logouts{kind=logout,outcome=success}":                          2,
		"oidcmw.logouts{kind=logout,outcome=failure,reason=store_unavailable}": 1,
		"oidcmw.logouts{kind=backchannel_logout,outcome=success}":              1,
		"oidcmw.logout.sessions{kind=logout}":                                  1,
		"oidcmw.logout.sessions{kind=backchannel_logout}":                      3,
		"oidcmw.store.errors{}":                                                1,
		"oidcmw.circuit.state{dependency=store}":                               2,
		"oidcmw.circuit.state{dependency=provider}":                            1,
		"oidcmw.circuit.refused{dependency=store}":                             2,
	})

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	units := map[string]string{}
	sums := map[string]float64{}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		units[m.Name] = m.Unit
		if h, ok := m.Data.(metricdata.Histogram[float64]); ok {
			for _, p := range h.DataPoints {
				sums[m.Name] += p.Sum
			}
		}
	}
	for name, unit := range map[string]string{
		"oidcmw.logins": "{login}", "oidcmw.login.duration": "s",
		"oidcmw.refreshes": "{refresh}", "oidcmw.refresh.duration": "s",
		"oidcmw.logouts": "{logout}", "oidcmw.logout.sessions": "{session}",
		"oidcmw.store.errors":  "{error}",
		"oidcmw.circuit.state": "{state}", "oidcmw.circuit.refused": "{call}",
	} {
		if units[name] != unit {
			t.Errorf("%s: unit %q, want %q", name, units[name], unit)
		}
	}
	if sums["oidcmw.login.duration"] != 1.5 || sums["oidcmw.refresh.duration"] != 2.02 {
		t.Errorf("duration sums %v, want 1.5 s of logins and 2.02 s of refreshes", sums)
	}
}

// TestCircuitState: the gauge holds a dependency's latest state (0 closed,
// 1 half-open, 2 open) from its first change on, through collections
// without events; each dependency has its own series, and a state it does
// not know changes nothing.
func TestCircuitState(t *testing.T) {
	obs, reader := newObserver(t)
	const iss = "https://op.example.com"
	ctx := context.Background()
	circuit := func(dep, state string) {
		obs.Observe(ctx, oidcmw.Event{Kind: oidcmw.EventCircuit, Issuer: iss, Dependency: dep, State: state})
	}
	refused := func(dep string) {
		obs.Observe(ctx, oidcmw.Event{Kind: oidcmw.EventRefused, Issuer: iss, Dependency: dep})
	}

	wantSeries(t, series(t, reader, iss), map[string]float64{}) // no series before the first change

	circuit("store", "open")
	refused("store")
	refused("store")
	refused("store")
	wantSeries(t, series(t, reader, iss), map[string]float64{
		"oidcmw.circuit.state{dependency=store}":   2,
		"oidcmw.circuit.refused{dependency=store}": 3,
	})
	// No event: the state stays.
	wantSeries(t, series(t, reader, iss), map[string]float64{
		"oidcmw.circuit.state{dependency=store}":   2,
		"oidcmw.circuit.refused{dependency=store}": 3,
	})

	circuit("store", "half-open")
	circuit("provider", "open")
	refused("provider")
	circuit("store", "unknown state: 7") // ignored
	wantSeries(t, series(t, reader, iss), map[string]float64{
		"oidcmw.circuit.state{dependency=store}":      1,
		"oidcmw.circuit.state{dependency=provider}":   2,
		"oidcmw.circuit.refused{dependency=store}":    3,
		"oidcmw.circuit.refused{dependency=provider}": 1,
	})

	circuit("store", "closed")
	circuit("provider", "half-open")
	circuit("provider", "closed")
	wantSeries(t, series(t, reader, iss), map[string]float64{
		"oidcmw.circuit.state{dependency=store}":      0,
		"oidcmw.circuit.state{dependency=provider}":   0,
		"oidcmw.circuit.refused{dependency=store}":    3,
		"oidcmw.circuit.refused{dependency=provider}": 1,
	})

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if m.Name == "oidcmw.circuit.state" {
			if _, ok := m.Data.(metricdata.Gauge[int64]); !ok {
				t.Errorf("%s: %T, want a gauge", m.Name, m.Data)
			}
		}
	}
}

// downStore is a Store that fails every call while down is set.
type downStore struct {
	oidcmw.Store
	down atomic.Bool
}

var errDown = errors.New("store down")

func (s *downStore) Put(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	if s.down.Load() {
		return errDown
	}
	return s.Store.Put(ctx, k, v, ttl)
}

func (s *downStore) Get(ctx context.Context, k string) ([]byte, bool, error) {
	if s.down.Load() {
		return nil, false, errDown
	}
	return s.Store.Get(ctx, k)
}

func (s *downStore) Take(ctx context.Context, k string) ([]byte, bool, error) {
	if s.down.Load() {
		return nil, false, errDown
	}
	return s.Store.Take(ctx, k)
}

func (s *downStore) Add(ctx context.Context, k string, v []byte, ttl time.Duration) (bool, error) {
	if s.down.Load() {
		return false, errDown
	}
	return s.Store.Add(ctx, k, v, ttl)
}

func (s *downStore) Replace(ctx context.Context, k string, v []byte, ttl time.Duration) (bool, error) {
	if s.down.Load() {
		return false, errDown
	}
	return s.Store.Replace(ctx, k, v, ttl)
}

func (s *downStore) Delete(ctx context.Context, k string) error {
	if s.down.Load() {
		return errDown
	}
	return s.Store.Delete(ctx, k)
}

func (s *downStore) AddMember(ctx context.Context, k, m string, ttl time.Duration) error {
	if s.down.Load() {
		return errDown
	}
	return s.Store.AddMember(ctx, k, m, ttl)
}

func (s *downStore) Members(ctx context.Context, k string) ([]string, error) {
	if s.down.Load() {
		return nil, errDown
	}
	return s.Store.Members(ctx, k)
}

// TestCircuitOutage: a store outage, as the middleware reports it, opens
// the store's circuit (gauge 2) and counts the calls it refused; after the
// cool-down a login's probe closes it again (gauge 0).
func TestCircuitOutage(t *testing.T) {
	store := &downStore{}
	const coolDown = 100 * time.Millisecond
	a := newApp(t, func(o *oidcmw.Options) {
		store.Store = o.Store
		o.Store = store
		o.CircuitBreaker = oidcmw.CircuitBreaker{Failures: 2, CoolDown: coolDown}
		o.Logger = slog.New(slog.DiscardHandler) // the outage log is the core's to test
	})
	circuitSeries := func() map[string]float64 {
		got := map[string]float64{}
		for k, v := range series(t, a.reader, a.op.URL) {
			if strings.HasPrefix(k, "oidcmw.circuit.") {
				got[k] = v
			}
		}
		return got
	}

	store.down.Store(true)
	for i := range 5 {
		if status, _ := send(t, browser(), "GET", a.srv.URL+"/", ""); status != http.StatusServiceUnavailable {
			t.Fatalf("request %d with the store down: %d", i, status)
		}
	}
	got := circuitSeries()
	if got["oidcmw.circuit.state{dependency=store}"] != 2 || got["oidcmw.circuit.refused{dependency=store}"] < 1 {
		t.Fatalf("store down: %v, want state 2 and refused calls", got)
	}
	refused := got["oidcmw.circuit.refused{dependency=store}"]

	store.down.Store(false)
	time.Sleep(coolDown + 50*time.Millisecond)
	if status, body := send(t, browser(), "GET", a.srv.URL+"/", ""); status != 200 || body != "hello alice" {
		t.Fatalf("login after the outage: %d %q", status, body)
	}
	wantSeries(t, circuitSeries(), map[string]float64{
		"oidcmw.circuit.state{dependency=store}":   0,
		"oidcmw.circuit.refused{dependency=store}": refused,
	})
}

func TestNewNil(t *testing.T) {
	if _, err := otelobserver.New(nil); err == nil || !strings.HasPrefix(err.Error(), "oidcmw: otelobserver: ") {
		t.Fatalf("New(nil): %v", err)
	}
}

// BenchmarkObserve measures one failed login, the event with the most
// attributes.
func BenchmarkObserve(b *testing.B) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer mp.Shutdown(context.Background())
	obs, err := otelobserver.New(mp)
	if err != nil {
		b.Fatal(err)
	}
	e := oidcmw.Event{Kind: oidcmw.EventLogin, Issuer: "https://op.example.com",
		Err: errors.New("x"), Reason: "state_mismatch", Duration: time.Second}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		obs.Observe(ctx, e)
	}
}
