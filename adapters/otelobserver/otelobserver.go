// Package otelobserver records what oidcmw does as OpenTelemetry metrics:
// logins, refreshes and logouts with their outcome and reason, how long
// they took, store errors, and the state of the circuit breakers in front of
// the store and the provider. It implements [oidcmw.Observer] with the
// OpenTelemetry metric API alone (go.opentelemetry.io/otel/metric); the
// application picks the SDK and the exporter (Prometheus, OTLP, ...).
//
//	obs, err := otelobserver.New(meterProvider) // e.g. otel.GetMeterProvider()
//	if err != nil {
//		return err
//	}
//	m, err := oidcmw.New(oidcmw.Options{
//		// ...
//		Observer: obs,
//	})
//
// # Instruments
//
// The meter is named "github.com/oidcmw/oidcmw". Names follow the
// OpenTelemetry conventions; the Prometheus exporter shows them with
// underscores and a unit suffix (oidcmw_logins_total,
// oidcmw_login_duration_seconds, oidcmw_circuit_state,
// oidcmw_circuit_refused_total, ...).
//
//	name                    instrument  unit       attributes
//	oidcmw.logins           counter     {login}    outcome, reason, provider
//	oidcmw.login.duration   histogram   s          outcome, provider
//	oidcmw.refreshes        counter     {refresh}  outcome, reason, provider
//	oidcmw.refresh.duration histogram   s          outcome, provider
//	oidcmw.logouts          counter     {logout}   kind, outcome, reason, provider
//	oidcmw.logout.sessions  counter     {session}  kind, provider
//	oidcmw.store.errors     counter     {error}    provider
//	oidcmw.circuit.state    gauge       {state}    dependency, provider
//	oidcmw.circuit.refused  counter     {call}     dependency, provider
//
// oidcmw.logins counts completed callbacks (outcome success) and refused ones
// (outcome failure). oidcmw.login.duration runs from the start of the login
// (the redirect to the provider) to the end of its callback, the user's time
// at the provider included; it records every successful login, and a failed
// one only when its event carries a duration: a callback refused before its
// pending login was found, or trusted, has none. Its buckets (advice that
// a View can override) reach from 0.25 s to 10 minutes, the default
// [oidcmw.Options] LoginTimeout.
//
// oidcmw.refreshes counts refreshes at the token endpoint, and
// oidcmw.refresh.duration records how long each took, failed or not, in
// buckets from 5 ms to 10 s.
//
// oidcmw.logouts counts logouts by kind: "logout"
// ([oidcmw.Middleware.Logout], which succeeds also when there was no session
// to end) and "backchannel_logout" (a logout token from the provider).
// oidcmw.logout.sessions adds the sessions those logouts ended: at most one
// for a logout, any number for a back-channel logout.
//
// oidcmw.store.errors counts requests the store failed (the middleware then
// answers 503).
//
// oidcmw.circuit.state is the state of a dependency's circuit breaker (see
// [oidcmw.CircuitBreaker]): 0 closed (calls go through), 1 half-open (one
// probe call), 2 open (calls fail at once). It is a synchronous gauge,
// recorded at each change of state ([oidcmw.EventCircuit]); New records
// nothing, since the Observer learns the provider attribute only from
// events and a circuit starts closed without one. So a dependency has no
// series until its circuit first changes state, and a missing series
// means closed (in PromQL, "oidcmw_circuit_state or vector(0)" for a
// single provider). Once recorded, a state is exported at every
// collection until the next change (gauges are cumulative under every
// standard TemporalitySelector). A circuit changes state only when a call
// meets it: an open circuit whose CoolDown has passed shows 2 until the
// next call probes the dependency. An event with a state other than the
// three is ignored. Middlewares with the same issuer share a series, which
// shows the latest change of any of them.
//
// oidcmw.circuit.refused counts calls that an open circuit refused without
// trying the dependency ([oidcmw.EventRefused]); a request that meets one
// is answered 503 with Retry-After. Its rate shows the load an outage
// turns away, which oidcmw.circuit.state alone does not.
//
// # Attributes
//
//   - outcome: "success" or "failure".
//   - reason: on failure only, the stable reason code that oidcmw's logs and
//     error pages show ("state_mismatch", "provider_unavailable",
//     "token_error", ...). A success has no reason attribute.
//   - provider: the issuer URL of the middleware that acted
//     (oidcmw.Options.Issuer), which tells apart several providers.
//   - kind: "logout" or "backchannel_logout".
//   - dependency: the dependency behind a circuit, "store" or "provider".
//
// Every attribute comes from configuration or from a fixed set of codes, so
// the number of series stays small. No event carries a token, code, cookie
// or subject, and no metric records one.
//
// # Not included
//
// Traces: oidcmw keeps tracing frameworks out of its core, and its events
// carry no span (the request's context reaches Observe, so exemplars work).
// A default MeterProvider: New takes the one to use; pass
// otel.GetMeterProvider() to record through the global one.
package otelobserver

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/oidcmw/oidcmw"
)

// MeterName is the name of the meter that New takes from its MeterProvider.
const MeterName = "github.com/oidcmw/oidcmw"

// Attribute values, built once.
var (
	success    = attribute.String("outcome", "success")
	failure    = attribute.String("outcome", "failure")
	kindLogout = attribute.String("kind", string(oidcmw.EventLogout))
	kindBCL    = attribute.String("kind", string(oidcmw.EventBackchannelLogout))
	// circuitStates are the values of oidcmw.circuit.state, by the names
	// of gobreaker's states (whose numbers they also are).
	circuitStates = map[string]int64{"closed": 0, "half-open": 1, "open": 2}
	loginBounds   = []float64{0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}
	tokenBounds   = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
)

// Observer records oidcmw events as metrics. It implements [oidcmw.Observer],
// is immutable after New and safe for concurrent use.
type Observer struct {
	logins          metric.Int64Counter
	loginDuration   metric.Float64Histogram
	refreshes       metric.Int64Counter
	refreshDuration metric.Float64Histogram
	logouts         metric.Int64Counter
	logoutSessions  metric.Int64Counter
	storeErrors     metric.Int64Counter
	circuitState    metric.Int64Gauge
	circuitRefused  metric.Int64Counter
}

var _ oidcmw.Observer = (*Observer)(nil)

// New creates the instruments listed in the package documentation on the
// meter [MeterName] of mp. It fails when mp is nil or refuses an
// instrument.
func New(mp metric.MeterProvider) (*Observer, error) {
	if mp == nil {
		return nil, errors.New("oidcmw: otelobserver: nil MeterProvider")
	}
	m := mp.Meter(MeterName)
	var o Observer
	var err, e error
	o.logins, e = m.Int64Counter("oidcmw.logins", metric.WithUnit("{login}"),
		metric.WithDescription("Logins completed or refused at the callback."))
	err = errors.Join(err, e)
	o.loginDuration, e = m.Float64Histogram("oidcmw.login.duration", metric.WithUnit("s"),
		metric.WithDescription("Time from the start of a login to the end of its callback."),
		metric.WithExplicitBucketBoundaries(loginBounds...))
	err = errors.Join(err, e)
	o.refreshes, e = m.Int64Counter("oidcmw.refreshes", metric.WithUnit("{refresh}"),
		metric.WithDescription("Token refreshes at the provider's token endpoint."))
	err = errors.Join(err, e)
	o.refreshDuration, e = m.Float64Histogram("oidcmw.refresh.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of token refreshes."),
		metric.WithExplicitBucketBoundaries(tokenBounds...))
	err = errors.Join(err, e)
	o.logouts, e = m.Int64Counter("oidcmw.logouts", metric.WithUnit("{logout}"),
		metric.WithDescription("Logouts, by the user (kind logout) or by the provider (kind backchannel_logout)."))
	err = errors.Join(err, e)
	o.logoutSessions, e = m.Int64Counter("oidcmw.logout.sessions", metric.WithUnit("{session}"),
		metric.WithDescription("Sessions ended by logouts."))
	err = errors.Join(err, e)
	o.storeErrors, e = m.Int64Counter("oidcmw.store.errors", metric.WithUnit("{error}"),
		metric.WithDescription("Requests that the session store failed."))
	err = errors.Join(err, e)
	o.circuitState, e = m.Int64Gauge("oidcmw.circuit.state", metric.WithUnit("{state}"),
		metric.WithDescription("State of a dependency's circuit breaker: 0 closed, 1 half-open, 2 open."))
	err = errors.Join(err, e)
	o.circuitRefused, e = m.Int64Counter("oidcmw.circuit.refused", metric.WithUnit("{call}"),
		metric.WithDescription("Calls to a dependency that its open circuit refused."))
	err = errors.Join(err, e)
	if err != nil {
		return nil, fmt.Errorf("oidcmw: otelobserver: creating instruments: %w", err)
	}
	return &o, nil
}

// Observe records e. Events of a kind it does not know are ignored.
func (o *Observer) Observe(ctx context.Context, e oidcmw.Event) {
	provider := attribute.String("provider", e.Issuer)
	switch e.Kind {
	case oidcmw.EventLogin:
		o.count(ctx, o.logins, o.loginDuration, e, provider)
	case oidcmw.EventRefresh:
		o.count(ctx, o.refreshes, o.refreshDuration, e, provider)
	case oidcmw.EventLogout, oidcmw.EventBackchannelLogout:
		kind := kindLogout
		if e.Kind == oidcmw.EventBackchannelLogout {
			kind = kindBCL
		}
		o.logouts.Add(ctx, 1, outcomeAttrs(e, provider, kind))
		if e.Sessions > 0 {
			o.logoutSessions.Add(ctx, int64(e.Sessions), metric.WithAttributeSet(attribute.NewSet(kind, provider)))
		}
	case oidcmw.EventStoreError:
		o.storeErrors.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(provider)))
	case oidcmw.EventCircuit:
		if v, ok := circuitStates[e.State]; ok {
			o.circuitState.Record(ctx, v, dependencyAttrs(e, provider))
		}
	case oidcmw.EventRefused:
		o.circuitRefused.Add(ctx, 1, dependencyAttrs(e, provider))
	}
}

// count adds e to a counter with outcome, reason and provider, and its
// duration to a histogram with outcome and provider. A login's duration is
// recorded on success and, on failure, only when the event has one;
// a refresh's always.
func (o *Observer) count(ctx context.Context, c metric.Int64Counter, h metric.Float64Histogram, e oidcmw.Event, provider attribute.KeyValue) {
	c.Add(ctx, 1, outcomeAttrs(e, provider))
	if e.Err != nil && e.Duration <= 0 && e.Kind == oidcmw.EventLogin {
		return
	}
	outcome := success
	if e.Err != nil {
		outcome = failure
	}
	h.Record(ctx, e.Duration.Seconds(), metric.WithAttributeSet(attribute.NewSet(outcome, provider)))
}

// dependencyAttrs is the dependency of a circuit event, and provider.
func dependencyAttrs(e oidcmw.Event, provider attribute.KeyValue) metric.MeasurementOption {
	return metric.WithAttributeSet(attribute.NewSet(attribute.String("dependency", e.Dependency), provider))
}

// outcomeAttrs is extra plus outcome and, on failure, reason.
func outcomeAttrs(e oidcmw.Event, extra ...attribute.KeyValue) metric.MeasurementOption {
	var buf [4]attribute.KeyValue
	kvs := append(buf[:0], extra...)
	if e.Err == nil {
		kvs = append(kvs, success)
	} else {
		kvs = append(kvs, failure)
		if e.Reason != "" {
			kvs = append(kvs, attribute.String("reason", e.Reason))
		}
	}
	return metric.WithAttributeSet(attribute.NewSet(kvs...))
}
