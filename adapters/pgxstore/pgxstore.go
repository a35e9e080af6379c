// Package pgxstore is an [oidcmw.Store] in PostgreSQL, on
// github.com/jackc/pgx/v5 (pgxpool), with the guarantees of redisstore:
// instances that share the database share the sessions.
//
// Usage:
//
//	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
//	...
//	store, err := pgxstore.New(pool, pgxstore.Options{})
//	...
//	if err := store.Migrate(ctx); err != nil { ... } // once, at start-up
//	defer store.Close()
//	m, err := oidcmw.New(oidcmw.Options{..., Store: store})
//
// # Guarantees
//
// Take is atomic across instances (DELETE ... RETURNING): a callback raced
// on two instances is redeemed once. Add inserts only when the key holds no
// live value (INSERT ... ON CONFLICT ... DO UPDATE ... WHERE expired), and
// Replace writes only over a live one (UPDATE ... WHERE live), so that a
// logout on one instance wins over a refresh in flight on another. Sets
// (the back-channel logout indexes) are rows of a table of their own.
//
// # Expiry
//
// Expiry times are the database's (now()), so that instances with skewed
// clocks agree. Expired rows are never returned; a sweep deletes them in
// batches of Options.SweepBatch every Options.SweepInterval, run by at most
// one instance at a time (a transaction-level advisory lock).
//
// # Schema
//
// [Store.Migrate] creates the two tables and their indexes if they do not
// exist; it is safe to run from several instances at once, and New never
// runs it. schema.sql holds the same statements for teams that manage the
// schema themselves (with the default prefix "oidcmw_").
//
// # Failures
//
// Every call is bounded by Options.StatementTimeout. An error (the database
// is down, a timeout) is returned as is; the middleware answers 503.
package pgxstore

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options configures [New]. Zero values mean the defaults.
type Options struct {
	// TablePrefix names the tables: TablePrefix + "values" and
	// TablePrefix + "sets". Lower-case letters, digits and underscores.
	// Default "oidcmw_".
	TablePrefix string
	// StatementTimeout bounds every call. Default 2 s.
	StatementTimeout time.Duration
	// SweepInterval is how often expired rows are deleted; negative turns
	// the sweep off. Default 5 minutes.
	SweepInterval time.Duration
	// SweepBatch is how many rows one sweep statement deletes at most.
	// Default 1000.
	SweepBatch int
}

// Store is an [oidcmw.Store] in PostgreSQL. It is safe for concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	values  string // quoted table names
	sets    string
	lockKey int64 // advisory lock of Migrate and the sweep
	timeout time.Duration
	batch   int

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

var validPrefix = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,40}$`)

// New returns a Store on pool and starts its sweep. It does no I/O; call
// [Store.Migrate] (or apply schema.sql) before use, and [Store.Close] to
// stop the sweep.
func New(pool *pgxpool.Pool, o Options) (*Store, error) {
	if o.TablePrefix == "" {
		o.TablePrefix = "oidcmw_"
	}
	if !validPrefix.MatchString(o.TablePrefix) {
		return nil, fmt.Errorf("oidcmw: pgxstore: TablePrefix %q: want lower-case letters, digits and underscores", o.TablePrefix)
	}
	if o.StatementTimeout <= 0 {
		o.StatementTimeout = 2 * time.Second
	}
	if o.SweepInterval == 0 {
		o.SweepInterval = 5 * time.Minute
	}
	if o.SweepBatch <= 0 {
		o.SweepBatch = 1000
	}
	s := &Store{pool: pool, values: pgx.Identifier{o.TablePrefix + "values"}.Sanitize(),
		sets: pgx.Identifier{o.TablePrefix + "sets"}.Sanitize(), lockKey: lockKey(o.TablePrefix),
		timeout: o.StatementTimeout, batch: o.SweepBatch, stop: make(chan struct{}), done: make(chan struct{})}
	if o.SweepInterval > 0 {
		go s.sweepEvery(o.SweepInterval)
	} else {
		close(s.done)
	}
	return s, nil
}

// lockKey is the advisory lock key of a table prefix.
func lockKey(prefix string) int64 {
	var h int64 = 0x6f6964636d77 // "oidcmw"
	for _, c := range prefix {
		h = h*31 + int64(c)
	}
	return h
}

// Close stops the sweep. It does not close the pool.
func (s *Store) Close() {
	s.once.Do(func() { close(s.stop) })
	<-s.done
}

// Migrate creates the tables and indexes if they do not exist. Instances
// may run it at once: an advisory lock serialises them.
func (s *Store) Migrate(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, s.lockKey); err != nil {
			return err
		}
		for _, q := range schema(s.values, s.sets) {
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("oidcmw: pgxstore: migrate: %w", err)
			}
		}
		return nil
	})
}

// schema is the DDL for the two tables (see schema.sql).
func schema(values, sets string) []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS ` + values + ` (key bytea PRIMARY KEY, value bytea NOT NULL, expires timestamptz NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS ` + indexName(values) + ` ON ` + values + ` (expires)`,
		`CREATE TABLE IF NOT EXISTS ` + sets + ` (key bytea NOT NULL, member bytea NOT NULL, expires timestamptz NOT NULL, PRIMARY KEY (key, member))`,
		`CREATE INDEX IF NOT EXISTS ` + indexName(sets) + ` ON ` + sets + ` (expires)`,
	}
}

// indexName is the expiry index of a quoted table name.
func indexName(table string) string { return table[:len(table)-1] + `_expires"` }

// b is a key or member as bytea: keys are any bytes, NUL included, which
// text cannot hold.
func b(s string) []byte { return []byte(s) }

// nonNil keeps an empty value from becoming NULL.
func nonNil(v []byte) []byte {
	if v == nil {
		return []byte{}
	}
	return v
}

// ms is a TTL in milliseconds for SQL (now() + $n * interval '1 ms').
func ms(ttl time.Duration) int64 { return max(ttl.Milliseconds(), 1) }

func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("oidcmw: pgxstore: %s: %w", op, err)
}

// Put stores value under key for ttl; ttl <= 0 deletes the key.
func (s *Store) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return s.Delete(ctx, key)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `INSERT INTO `+s.values+` (key, value, expires) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
		ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires = EXCLUDED.expires`, b(key), nonNil(value), ms(ttl))
	return wrap("put", err)
}

// Get returns the live value under key.
func (s *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var v []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM `+s.values+` WHERE key = $1 AND expires > now()`, b(key)).Scan(&v)
	return found("get", v, err)
}

// Take returns the live value under key and deletes it, atomically.
func (s *Store) Take(ctx context.Context, key string) ([]byte, bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var v []byte
	var live bool
	err := s.pool.QueryRow(ctx, `DELETE FROM `+s.values+` WHERE key = $1 RETURNING value, expires > now()`, b(key)).Scan(&v, &live)
	if err == nil && !live {
		return nil, false, nil
	}
	return found("take", v, err)
}

func found(op string, v []byte, err error) ([]byte, bool, error) {
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, false, nil
	case err != nil:
		return nil, false, wrap(op, err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, true, nil
}

// Add stores value under key for ttl only if the key holds no live value.
func (s *Store) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, nil
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, `INSERT INTO `+s.values+` AS v (key, value, expires) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
		ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires = EXCLUDED.expires WHERE v.expires <= now()`, b(key), nonNil(value), ms(ttl))
	return err == nil && tag.RowsAffected() == 1, wrap("add", err)
}

// Replace stores value under key for ttl only if the key holds a live
// value.
func (s *Store) Replace(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, nil
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, `UPDATE `+s.values+` SET value = $2, expires = now() + $3 * interval '1 millisecond'
		WHERE key = $1 AND expires > now()`, b(key), nonNil(value), ms(ttl))
	return err == nil && tag.RowsAffected() == 1, wrap("replace", err)
}

// Delete removes key, a value or a set.
func (s *Store) Delete(ctx context.Context, key string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `WITH v AS (DELETE FROM `+s.values+` WHERE key = $1)
		DELETE FROM `+s.sets+` WHERE key = $1`, b(key))
	return wrap("delete", err)
}

// AddMember adds member to the set under key and keeps the whole set for
// at least ttl from now. An expired set starts afresh.
func (s *Store) AddMember(ctx context.Context, key, member string, ttl time.Duration) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// One writer per set at a time: concurrent adds would otherwise
		// deadlock on the rows each extends.
		batch := &pgx.Batch{}
		batch.Queue(`SELECT pg_advisory_xact_lock(hashtextextended(encode($1, 'escape'), $2))`, b(key), s.lockKey)
		batch.Queue(`DELETE FROM `+s.sets+` WHERE key = $1 AND expires <= now()`, b(key))
		batch.Queue(`INSERT INTO `+s.sets+` (key, member, expires) VALUES ($1, $2, now() + $3 * interval '1 millisecond')
			ON CONFLICT (key, member) DO NOTHING`, b(key), b(member), ms(ttl))
		batch.Queue(`UPDATE `+s.sets+` SET expires = greatest(expires, now() + $2 * interval '1 millisecond') WHERE key = $1`, b(key), ms(ttl))
		return tx.SendBatch(ctx, batch).Close()
	})
	return wrap("add member", err)
}

// Members returns the members of the live set under key.
func (s *Store) Members(ctx context.Context, key string) ([]string, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT member FROM `+s.sets+` WHERE key = $1 AND expires > now()`, b(key))
	if err != nil {
		return nil, wrap("members", err)
	}
	members, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (string, error) {
		var m []byte
		err := row.Scan(&m)
		return string(m), err
	})
	return members, wrap("members", err)
}

// sweepEvery deletes expired rows every interval until Close.
func (s *Store) sweepEvery(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			_, _ = s.Sweep(context.Background())
		}
	}
}

// Sweep deletes expired rows, in batches of Options.SweepBatch, unless
// another instance is sweeping; it returns how many it deleted. The sweep
// of New calls it; call it yourself with SweepInterval < 0.
func (s *Store) Sweep(ctx context.Context) (int64, error) {
	var total int64
	for _, table := range []string{s.values, s.sets} {
		for {
			var n int64
			err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
				var locked bool
				if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, s.lockKey+1).Scan(&locked); err != nil || !locked {
					return err
				}
				tag, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE ctid IN (SELECT ctid FROM `+table+
					` WHERE expires <= now() LIMIT $1)`, s.batch)
				n = tag.RowsAffected()
				return err
			})
			if err != nil {
				return total, wrap("sweep", err)
			}
			total += n
			if n < int64(s.batch) {
				break
			}
		}
	}
	return total, nil
}
