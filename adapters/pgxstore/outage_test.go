package pgxstore_test

import (
	"context"
	"testing"
	"time"

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
	cfg, err := pgxpool.ParseConfig(pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.ConnectTimeout = time.Second
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store, err := pgxstore.New(pool, pgxstore.Options{StatementTimeout: time.Second, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	storetest.Outage(t, store, pg.Stop, pg.Start, 3*time.Second)
}
