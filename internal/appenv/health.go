package appenv

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/oidcmw/oidcmw"
)

// Healthz answers a liveness check: the process is alive. It looks at
// nothing of the request.
func Healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// Readiness answers a readiness check: 200 when the provider (discovery and keys)
// and the store answer, else 503 with one line per dependency that does
// not. It checks at each request; the provider's answer is cached once it
// has succeeded. It also lists the middleware's circuits that are not
// closed ("store: circuit open"), which do not make it 503 by themselves:
// a circuit closes only when a request probes it, and a load balancer
// sends none to an instance that is not ready.
type Readiness struct {
	Provider func(context.Context) error // Middleware.Discover
	Store    func(context.Context) error // Store.Ping; nil: in memory
	Circuits *Circuits
}

// Circuits keeps the state of the middleware's circuit breakers from its
// events, and passes every event on to Next. Set it as Options.Observer.
type Circuits struct {
	Next  oidcmw.Observer
	mu    sync.Mutex
	state map[string]string // dependency -> state, while not closed
}

func (c *Circuits) Observe(ctx context.Context, e oidcmw.Event) {
	if e.Kind == oidcmw.EventCircuit {
		c.mu.Lock()
		if c.state == nil {
			c.state = map[string]string{}
		}
		if e.State == "closed" {
			delete(c.state, e.Dependency)
		} else {
			c.state[e.Dependency] = e.State
		}
		c.mu.Unlock()
	}
	if c.Next != nil {
		c.Next.Observe(ctx, e)
	}
}

// notClosed lists the circuits that are not closed, as "dependency:
// circuit state" lines.
func (c *Circuits) notClosed() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var lines []string
	for dep, state := range c.state {
		lines = append(lines, dep+": circuit "+state)
	}
	slices.Sort(lines)
	return lines
}

// readyCheck bounds one readiness check.
const readyCheck = 2 * time.Second

func (rd *Readiness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyCheck)
	defer cancel()
	var problems []string
	switch err := rd.Provider(ctx); {
	case errors.Is(err, oidcmw.ErrProviderMisconfigured):
		problems = append(problems, "provider: misconfigured")
	case err != nil:
		problems = append(problems, "provider: unavailable")
	}
	if rd.Store != nil {
		if err := rd.Store(ctx); err != nil {
			problems = append(problems, "store: unavailable")
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	body := "ready\n"
	if len(problems) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		body = "not ready\n" + strings.Join(problems, "\n") + "\n"
	}
	for _, line := range rd.Circuits.notClosed() {
		body += line + "\n"
	}
	w.Write([]byte(body))
}
