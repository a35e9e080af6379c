package oidcmw

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// The dependencies that have a circuit.
const (
	depStore    = "store"
	depProvider = "provider"
)

// outages are the dependencies whose failures their outage logs report.
type outages struct{ provider *dependency }

// covers reports whether err is an outage that a dependency's log already
// counts, so that the request that met it is not logged by itself: a
// store failure (every store call goes through its circuit), a call an
// open circuit refused, or a provider failure while the provider's calls
// fail (an unusable document from a provider that answers is logged per
// request, as before).
func (o outages) covers(err error) bool {
	var co *circuitOpen
	switch {
	case errors.As(err, &co), errors.Is(err, ErrStoreUnavailable):
		return true
	case errors.Is(err, ErrProviderUnavailable):
		return o.provider.log.failing.Load()
	}
	return false
}

// dependency is one dependency's circuit breaker and outage log.
//
// While the circuit is closed and has counted no failure, a success
// changes nothing its trip rule reads (consecutive failures), so calls then
// skip the breaker (its mutex and two clock reads, about 150 ns a call)
// and cost one atomic load; the first failure is counted by the breaker,
// and calls go through it until it is closed and clear again.
type dependency struct {
	name     string
	cb       *gobreaker.TwoStepCircuitBreaker[struct{}] // nil when disabled
	clear    atomic.Bool                                // closed, no failure counted
	coolDown time.Duration
	log      outageLog
}

func newDependency(name string, c CircuitBreaker, logger *slog.Logger, ev *events) *dependency {
	d := &dependency{name: name, coolDown: c.CoolDown,
		log: outageLog{dep: name, logger: logger, interval: c.LogInterval, events: ev, quiet: min(c.CoolDown, time.Second)}}
	if c.Disabled {
		return d
	}
	failures := uint32(c.Failures)
	d.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        name,
		MaxRequests: 1,
		Interval:    c.Window,
		Timeout:     c.CoolDown,
		ReadyToTrip: func(counts gobreaker.Counts) bool { return counts.ConsecutiveFailures >= failures },
		IsExcluded:  func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			ev.observe(context.Background(), Event{Kind: EventCircuit, Dependency: name, State: to.String()})
			if from == gobreaker.StateHalfOpen && to == gobreaker.StateClosed {
				d.log.recovered(context.Background()) // its probe succeeded
			}
		},
	})
	d.clear.Store(true)
	return d
}

// call runs fn through the circuit and tells the outage log.
func (d *dependency) call(ctx context.Context, fn func() error) error {
	if d.cb != nil && !d.clear.Load() {
		return d.guarded(ctx, fn)
	}
	err := fn()
	if err != nil && d.cb != nil && !errors.Is(err, context.Canceled) {
		d.clear.Store(false)
		if done, refused := d.cb.Allow(); refused == nil {
			done(err) // counted after the fact
		}
	}
	d.report(ctx, err)
	return err
}

// guarded runs fn when the breaker lets it, and counts its outcome.
func (d *dependency) guarded(ctx context.Context, fn func() error) error {
	done, err := d.cb.Allow()
	if err != nil { // open, or half-open with its probe out
		d.log.event(ctx, EventRefused)
		d.log.failure(ctx, err, true)
		return &circuitOpen{dep: d.name, retryAfter: d.coolDown}
	}
	err = fn()
	done(err)
	if err == nil && d.cb.State() == gobreaker.StateClosed && d.cb.Counts().ConsecutiveFailures == 0 {
		d.clear.Store(true)
	}
	d.report(ctx, err)
	return err
}

// report tells the outage log of a call's outcome.
func (d *dependency) report(ctx context.Context, err error) {
	switch {
	case err == nil:
		d.log.success(ctx)
	case !errors.Is(err, context.Canceled):
		d.log.failure(ctx, err, false)
	}
}

// outageLog logs a dependency's outage: one warning when it starts, at
// most one summary per interval, one record when it ends.
type outageLog struct {
	dep      string
	logger   *slog.Logger
	interval time.Duration
	events   *events

	// quiet is how long the dependency must go without a failure before
	// a success counts as its recovery: an outage begins and ends with a
	// mix of failures and successes (connections die one by one), which
	// would otherwise log as many outages.
	quiet time.Duration

	failing atomic.Bool // read on every success: the hot path
	mu      sync.Mutex
	since   time.Time // when the outage started
	summary time.Time // when the last summary was logged
	last    time.Time // the last failure
	// failed and refused count calls since the last summary; the totals
	// since the outage started.
	failed, refused, failedTotal, refusedTotal int
}

func (o *outageLog) event(ctx context.Context, kind EventKind) {
	o.events.observe(ctx, Event{Kind: kind, Dependency: o.dep})
}

func (o *outageLog) failure(ctx context.Context, err error, refused bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now()
	if !o.failing.Load() {
		o.failing.Store(true)
		o.since, o.summary = now, now
		o.failed, o.refused, o.failedTotal, o.refusedTotal = 0, 0, 0, 0
		o.logger.WarnContext(ctx, "oidcmw: dependency failing: requests that need it fail until it recovers",
			"dependency", o.dep, "reason", o.dep+"_unavailable", "err", err)
	}
	o.last = now
	if refused {
		o.refused++
		o.refusedTotal++
	} else {
		o.failed++
		o.failedTotal++
	}
	if now.Sub(o.summary) >= o.interval {
		o.logger.WarnContext(ctx, "oidcmw: dependency still failing", "dependency", o.dep,
			"reason", o.dep+"_unavailable", "failed", o.failed, "refused", o.refused, "for", now.Sub(o.since).Round(time.Second))
		o.summary, o.failed, o.refused = now, 0, 0
	}
}

func (o *outageLog) success(ctx context.Context) {
	if !o.failing.Load() {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if time.Since(o.last) >= o.quiet {
		o.recover(ctx)
	}
}

// recovered logs the recovery now: a probe closed the circuit.
func (o *outageLog) recovered(ctx context.Context) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.recover(ctx)
}

// recover ends the outage, if there is one; o.mu is held.
func (o *outageLog) recover(ctx context.Context) {
	if !o.failing.Load() {
		return
	}
	o.failing.Store(false)
	o.logger.InfoContext(ctx, "oidcmw: dependency recovered", "dependency", o.dep,
		"after", time.Since(o.since).Round(time.Millisecond), "failed", o.failedTotal, "refused", o.refusedTotal)
}

// breakerTransport sends the provider's requests through its circuit. A
// 5xx answer counts as a failure and is returned as it is.
type breakerTransport struct {
	next http.RoundTripper
	dep  *dependency
}

// serverStatus marks a 5xx answer for the breaker and the outage log.
type serverStatus struct{ endpoint, status string }

func (e *serverStatus) Error() string { return e.endpoint + " answered " + e.status }

func (t *breakerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var resp *http.Response
	err := t.dep.call(req.Context(), func() error {
		var err error
		resp, err = t.next.RoundTrip(req)
		if err == nil && resp.StatusCode >= 500 {
			// The URL without its query: the provider's endpoints carry no
			// secret there, but a query is never logged.
			return &serverStatus{endpoint: req.URL.Scheme + "://" + req.URL.Host + req.URL.Path, status: resp.Status}
		}
		return err
	})
	if ss := (*serverStatus)(nil); errors.As(err, &ss) {
		return resp, nil
	}
	if err != nil && resp != nil {
		resp.Body.Close()
		resp = nil
	}
	return resp, err
}

// withBreaker is a copy of c whose transport goes through dep's circuit.
func withBreaker(c *http.Client, dep *dependency) *http.Client {
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	cc := *c
	cc.Transport = &breakerTransport{next: next, dep: dep}
	return &cc
}
