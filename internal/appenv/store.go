package appenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/adapters/pgxstore"
	"github.com/oidcmw/oidcmw/adapters/redisstore"
)

// Store is the session store the environment chose, how a readiness check
// pings it, and what closes it. A nil Store is oidcmw's in-memory default,
// with a nil Ping.
type Store struct {
	Store oidcmw.Store
	Ping  func(context.Context) error
	Close func()
}

// storeTimeout bounds a store's dial, reads and writes: with the store
// down, a guarded request answers 503 within it.
const storeTimeout = 2 * time.Second

// OpenStore opens REDIS_URL or DATABASE_URL. A URL that does not parse is
// a configuration error; a store that does not answer is logged once and
// left to /readyz.
func OpenStore(ctx context.Context, getenv func(string) string, logger *slog.Logger) (Store, error) {
	redisURL, dbURL := getenv("REDIS_URL"), getenv("DATABASE_URL")
	switch {
	case redisURL != "" && dbURL != "":
		return Store{}, errors.New("REDIS_URL and DATABASE_URL are both set: choose one store")
	case redisURL != "":
		return redisStore(ctx, redisURL, logger)
	case dbURL != "":
		return postgresStore(ctx, dbURL, logger)
	}
	return Store{Close: func() {}}, nil
}

func redisStore(ctx context.Context, u string, logger *slog.Logger) (Store, error) {
	ro, err := redis.ParseURL(u)
	if err != nil {
		return Store{}, fmt.Errorf("REDIS_URL: %w", err)
	}
	ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout = storeTimeout, storeTimeout, storeTimeout
	redis.SetLogger(redisLogger{logger})
	rc := redis.NewClient(ro)
	ping := func(ctx context.Context) error { return rc.Ping(ctx).Err() }
	pctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if err := ping(pctx); err != nil {
		logger.Warn("Redis not ready at start: starting anyway, sessions fail with 503 until it answers", "err", err)
	}
	return Store{Store: redisstore.New(rc), Ping: ping, Close: func() { rc.Close() }}, nil
}

// redisLogger sends go-redis's log lines to the app's logger.
type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.l.WarnContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}

// postgresStore opens PostgreSQL and creates the store's tables, at start
// or, when the database is down then, at the first readiness check that
// reaches it.
func postgresStore(ctx context.Context, u string, logger *slog.Logger) (Store, error) {
	cfg, err := pgxpool.ParseConfig(u)
	if err != nil {
		return Store{}, fmt.Errorf("DATABASE_URL: %w", err)
	}
	cfg.ConnConfig.ConnectTimeout = storeTimeout
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return Store{}, fmt.Errorf("DATABASE_URL: %w", err)
	}
	st, err := pgxstore.New(pool, pgxstore.Options{})
	if err != nil {
		pool.Close()
		return Store{}, fmt.Errorf("DATABASE_URL: %w", err)
	}
	var migrated atomic.Bool
	ping := func(ctx context.Context) error {
		if !migrated.Load() {
			if err := st.Migrate(ctx); err != nil {
				return err
			}
			migrated.Store(true)
		}
		return pool.Ping(ctx)
	}
	pctx, cancel := context.WithTimeout(ctx, 3*storeTimeout)
	defer cancel()
	if err := ping(pctx); err != nil {
		logger.Warn("PostgreSQL not ready at start: starting anyway, sessions fail with 503 until it answers", "err", err)
	}
	return Store{Store: st, Ping: ping, Close: func() { st.Close(); pool.Close() }}, nil
}
