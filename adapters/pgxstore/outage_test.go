package pgxstore_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oidcmw/oidcmw/adapters/pgxstore"
	"github.com/oidcmw/oidcmw/internal/pgtest"
	"github.com/oidcmw/oidcmw/internal/storetest"
)

// TestStoreOutage: with PostgreSQL stopped (a private cluster of the
// test's own) the guard fails closed with 503 within the statement
// timeout, never a login loop; after a restart the session works again
// without restarting the app.
func TestStoreOutage(t *testing.T) {
	pg := pgtest.Start(t)
	store, _ := outageStore(t, pg, nil)
	storetest.Outage(t, store, pg.Stop, pg.Start, 3*time.Second)
}

// outageStore is a migrated store on pg for an outage test, with short
// timeouts and tracer (when set) on its pool; both close when t ends.
func outageStore(t *testing.T, pg *pgtest.Server, tracer pgx.QueryTracer) (*pgxstore.Store, *pgxpool.Pool) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.ConnectTimeout = time.Second
	cfg.ConnConfig.Tracer = tracer
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store, err := pgxstore.New(pool, pgxstore.Options{StatementTimeout: time.Second, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return store, pool
}

// acquires counts the connections the pool hands out (or tries to): the
// calls that reach PostgreSQL.
type acquires struct{ n atomic.Int64 }

func (a *acquires) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	a.n.Add(1)
	return ctx
}

func (a *acquires) TraceAcquireEnd(context.Context, *pgxpool.Pool, pgxpool.TraceAcquireEndData) {}

func (a *acquires) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (a *acquires) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestStoreOutageUnderLoad: PostgreSQL stopped under concurrent guarded
// requests; the store's circuit opens, requests answer 503 at once and
// almost none reach PostgreSQL during the cool-down; after a restart they
// succeed within one cool-down; the log holds the outage, not each
// request.
func TestStoreOutageUnderLoad(t *testing.T) {
	pg := pgtest.Start(t)
	var calls acquires
	store, pool := outageStore(t, pg, &calls)
	start := func() {
		pg.Start()
		for pool.Ping(context.Background()) != nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
	storetest.OutageUnderLoad(t, store, pg.Stop, start, calls.n.Load)
}
