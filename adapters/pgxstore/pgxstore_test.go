package pgxstore_test

import (
	"context"
	"crypto/rand"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/adapters/pgxstore"
	"github.com/oidcmw/oidcmw/internal/storetest"
)

var (
	_ oidcmw.Store = (*pgxstore.Store)(nil)
)

// pool connects to OIDCMW_TEST_POSTGRES_URL; without it the test is
// skipped, or fails under CI=true (.ci/run starts a cluster).
func pool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	u := os.Getenv("OIDCMW_TEST_POSTGRES_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("OIDCMW_TEST_POSTGRES_URL is not set; .ci/run starts PostgreSQL")
		}
		t.Skip("OIDCMW_TEST_POSTGRES_URL is not set")
	}
	p, err := pgxpool.New(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// newStore is a migrated Store with tables of the test's own.
func newStore(t *testing.T, p *pgxpool.Pool, prefix string, o pgxstore.Options) *pgxstore.Store {
	t.Helper()
	o.TablePrefix = prefix
	s, err := pgxstore.New(p, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// prefix is a table prefix of the test's own: a shared database keeps
// tables between tests and runs.
func prefix(*testing.T) string { return "t" + strings.ToLower(rand.Text()[:12]) + "_" }

func TestConformance(t *testing.T) {
	p := pool(t)
	s := newStore(t, p, prefix(t), pgxstore.Options{})
	storetest.Run(t, func() oidcmw.Store { return s })
}

// TestInstances: two instances, each with a pool of its own, on one
// database: a callback raced on both is redeemed once, logout on one ends
// the session on both, refresh happens once, a logout during a refresh
// wins (storetest.RunInstances).
func TestInstances(t *testing.T) {
	p := pool(t)
	pre := prefix(t)
	newStore(t, p, pre, pgxstore.Options{}) // migrate once
	storetest.RunInstances(t, func(t *testing.T) oidcmw.Store {
		s, err := pgxstore.New(pool(t), pgxstore.Options{TablePrefix: pre})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		return s
	}, 0)
}

// TestMigrateConcurrently: instances may migrate at once.
func TestMigrateConcurrently(t *testing.T) {
	p := pool(t)
	pre := prefix(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := pgxstore.New(p, pgxstore.Options{TablePrefix: pre, SweepInterval: -1})
			if err == nil {
				err = s.Migrate(context.Background())
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestSweep: expired rows leave the tables in batches; live ones stay.
func TestSweep(t *testing.T) {
	p := pool(t)
	s := newStore(t, p, prefix(t), pgxstore.Options{SweepInterval: -1, SweepBatch: 3})
	ctx := context.Background()
	for i := range 10 {
		key := "gone" + string(rune('a'+i))
		if err := s.Put(ctx, key, []byte("v"), time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if err := s.AddMember(ctx, "set"+key, "m", time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put(ctx, "live", []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // the database's clock decides expiry
	n, err := s.Sweep(ctx)
	if err != nil || n != 20 {
		t.Fatalf("swept %d, %v; want 20", n, err)
	}
	if _, found, _ := s.Get(ctx, "live"); !found {
		t.Fatal("the sweep took a live row")
	}
}

// TestNewRefusesBadPrefix: table names come from configuration and are
// checked.
func TestNewRefusesBadPrefix(t *testing.T) {
	for _, p := range []string{"Upper_", "semi;colon", `quote"`, strings.Repeat("a", 50)} {
		if _, err := pgxstore.New(nil, pgxstore.Options{TablePrefix: p}); err == nil {
			t.Errorf("prefix %q accepted", p)
		}
	}
}
