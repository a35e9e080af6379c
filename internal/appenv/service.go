package appenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/oidctest"
)

// startupDiscovery bounds the provider check at start.
const startupDiscovery = 5 * time.Second

// Service is the middleware with what the environment gave it.
type Service struct {
	M       *oidcmw.Middleware
	Options oidcmw.Options // as given to oidcmw.New
	Ready   *Readiness     // the readiness check over the provider, the store and the circuits
	Metrics http.Handler   // nil without METRICS
	Close   func()         // releases the store, the metrics and the development provider
}

// NewService opens the store and the metrics the environment names, starts
// the development provider (oidctest) when dev is set, builds the
// middleware from opts and checks discovery. It returns configuration
// errors only, in terms of the environment: an unreachable provider or
// store is logged once and left to Ready.
func NewService(ctx context.Context, opts oidcmw.Options, getenv func(string) string, logger *slog.Logger, dev bool) (_ *Service, err error) {
	var closers []func()
	s := &Service{Close: func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	opts.Logger = logger
	st, err := OpenStore(ctx, getenv, logger)
	if err != nil {
		return nil, err
	}
	closers = append(closers, st.Close)
	opts.Store = st.Store
	obs, metrics, closeMetrics, err := NewMetrics(getenv("METRICS"))
	if err != nil {
		return nil, err
	}
	closers = append(closers, closeMetrics)
	circ := &Circuits{Next: obs}
	opts.Observer = circ
	if dev {
		op := oidctest.NewServer(oidctest.Config{})
		closers = append(closers, op.Close)
		opts.Issuer, opts.ClientID, opts.ClientSecret = op.URL, oidctest.DefaultClientID, oidctest.DefaultClientSecret
		logger.Warn("development provider: everyone is signed in as the test user at once",
			"url", op.URL, "user", oidctest.DefaultUser().Subject)
	}
	m, err := oidcmw.New(opts)
	if err != nil {
		return nil, EnvError(err)
	}
	// A wrong issuer stops the start; an outage does not.
	dctx, cancel := context.WithTimeout(ctx, startupDiscovery)
	defer cancel()
	switch err := m.Discover(dctx); {
	case errors.Is(err, oidcmw.ErrProviderMisconfigured):
		return nil, fmt.Errorf("OIDC_ISSUER %s: %w", opts.Issuer, err)
	case err != nil:
		// The middleware has logged the outage (one warning).
		logger.Info("provider not ready at start: starting anyway, logins fail until it answers", "err", err)
	}
	s.M, s.Options, s.Metrics = m, opts, metrics
	s.Ready = &Readiness{Provider: m.Discover, Store: st.Ping, Circuits: circ}
	return s, nil
}
