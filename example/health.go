package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/oidcmw/oidcmw"
)

// healthz: the process is alive.
func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// readiness answers /readyz: 200 when the provider (discovery and keys)
// and the store answer, else 503 with one line per dependency that does
// not. It checks at each request; the provider's answer is cached once it
// has succeeded.
type readiness struct {
	provider func(context.Context) error
	store    func(context.Context) error // nil: in memory
}

// readyCheck bounds one readiness check.
const readyCheck = 2 * time.Second

func (rd *readiness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyCheck)
	defer cancel()
	var problems []string
	switch err := rd.provider(ctx); {
	case errors.Is(err, oidcmw.ErrProviderMisconfigured):
		problems = append(problems, "provider: misconfigured")
	case err != nil:
		problems = append(problems, "provider: unavailable")
	}
	if rd.store != nil {
		if err := rd.store(ctx); err != nil {
			problems = append(problems, "store: unavailable")
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if len(problems) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("not ready\n" + strings.Join(problems, "\n") + "\n"))
		return
	}
	w.Write([]byte("ready\n"))
}
