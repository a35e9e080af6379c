package oidcmw

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"time"
	"unsafe"
)

// A session lives in the Store under a hash of its cookie value. It ends at
// the idle or the absolute timeout, whichever comes first; the store TTL is
// set to that moment on every write. Writes after login (refresh, and the
// "touch" that moves the idle timeout) happen under a lease in the store,
// so that at most one instance rewrites a session at a time and a refresh
// is never overwritten with older tokens.

const (
	leaseTTL     = 15 * time.Second      // longer than a refresh can take
	leasePoll    = 25 * time.Millisecond // how often a waiting instance looks
	maxTouchStep = 5 * time.Minute       // the idle timeout is this precise
)

// liveSession is a session read from the store.
type liveSession struct {
	key string // store key
	rec sessionRecord
	id  *Identity // rec.id with SessionExpiry, set by readSession; shared
	// read-only by concurrent requests of the session
}

// errSessionEnded: the session is over (timeout, refresh refused, subject
// changed); the request goes on as unauthenticated.
var errSessionEnded = errors.New("oidcmw: session ended")

// loadSession returns the request's session, nil when there is none. It
// is the guard's hot path: one allocation (the session and its store key
// together) and one store read.
func (m *Middleware) loadSession(r *http.Request) (*liveSession, error) {
	token := cookieValue(r, m.sessionName)
	if !validToken(token) {
		return nil, nil
	}
	ks := new(keyedSession)
	ks.key = ks.setKey(token)
	found, err := m.readSession(r.Context(), &ks.liveSession, false)
	if err != nil || !found {
		return nil, err
	}
	return &ks.liveSession, nil
}

// keyedSession holds a liveSession and the bytes of its store key in one
// allocation.
type keyedSession struct {
	liveSession
	buf [sessionKeyLen]byte
}

func (ks *keyedSession) setKey(token string) string {
	appendSessionKey(ks.buf[:0], token)
	return unsafe.String(&ks.buf[0], len(ks.buf))
}

// readSession (re)reads s.rec from the store; fresh reads past a store's
// cache (FreshGetter).
func (m *Middleware) readSession(ctx context.Context, s *liveSession, fresh bool) (bool, error) {
	var b []byte
	var found bool
	var err error
	if fresh {
		b, found, err = m.getFresh(ctx, s.key)
	} else {
		b, found, err = m.opts.Store.Get(ctx, s.key)
	}
	if err != nil {
		return false, storeError(err)
	}
	if !found {
		return false, nil
	}
	if err := m.decode(b, s.key, &s.rec); err != nil {
		m.opts.Logger.WarnContext(ctx, "oidcmw: ignoring unreadable session record", "err", err)
		return false, nil
	}
	s.rec.id.SessionExpiry = m.sessionEnd(&s.rec)
	s.id = &s.rec.id
	return true, nil
}

// getFresh reads key past the store's cache, if it has one.
func (m *Middleware) getFresh(ctx context.Context, key string) ([]byte, bool, error) {
	if f, ok := m.opts.Store.(FreshGetter); ok {
		return f.GetFresh(ctx, key)
	}
	return m.opts.Store.Get(ctx, key)
}

// sessionEnd is when rec ends unless used again.
func (m *Middleware) sessionEnd(rec *sessionRecord) time.Time {
	idle := time.Unix(rec.lastSeen, 0).Add(m.opts.IdleTimeout)
	abs := time.Unix(rec.created, 0).Add(m.opts.AbsoluteTimeout)
	if idle.Before(abs) {
		return idle
	}
	return abs
}

// writeSession stores rec under key until its end.
func (m *Middleware) writeSession(ctx context.Context, key string, rec *sessionRecord) error {
	ttl := m.sessionEnd(rec).Sub(m.opts.Now())
	if ttl <= 0 {
		return m.opts.Store.Delete(ctx, key)
	}
	return m.opts.Store.Put(ctx, key, m.seal.seal(rec.marshal(), key), ttl)
}

// createSession stores a new session for tokens under a new id, indexes it
// for back-channel logout, and sets the cookie. A session the browser had
// before is deleted (session fixation).
func (m *Middleware) createSession(w http.ResponseWriter, r *http.Request, tokens *Tokens) error {
	ctx := r.Context()
	now := m.opts.Now().Unix()
	rec := sessionRecord{id: tokens.identity(), sid: tokens.sid, created: now, lastSeen: now}
	token := rand.Text()
	key := sessionKey(token)
	for _, idx := range m.indexKeys(rec.id.Issuer, rec.sid, rec.id.Subject) {
		if err := m.opts.Store.AddMember(ctx, idx, key, m.opts.AbsoluteTimeout); err != nil {
			return storeError(err)
		}
	}
	if err := m.writeSession(ctx, key, &rec); err != nil {
		return storeError(err)
	}
	if old, err := r.Cookie(m.sessionName); err == nil && validToken(old.Value) {
		if err := m.opts.Store.Delete(ctx, sessionKey(old.Value)); err != nil {
			m.opts.Logger.WarnContext(ctx, "oidcmw: could not delete the previous session", "err", err)
		}
	}
	http.SetCookie(w, m.sessionCookie(token))
	return nil
}

// indexKeys are the back-channel logout index keys of a session: by
// provider session id (when there is one) and by subject.
func (m *Middleware) indexKeys(issuer, sid, sub string) []string {
	keys := make([]string, 0, 2)
	if sid != "" {
		keys = append(keys, "oidcmw:sid:"+hashKey(issuer, sid))
	}
	return append(keys, "oidcmw:sub:"+hashKey(issuer, sub))
}

func hashKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// maintain applies the timeouts, refreshes the access token when it is
// about to expire, and moves the idle timeout. It returns errSessionEnded
// when the session is over, or a provider or store error when the request
// cannot be served.
func (m *Middleware) maintain(ctx context.Context, s *liveSession) (*liveSession, error) {
	now := m.opts.Now()
	if !now.Before(s.rec.id.SessionExpiry) { // set by readSession
		m.endSession(ctx, s.key)
		return nil, errSessionEnded
	}
	if !m.needsRefresh(&s.rec, now) && now.Sub(time.Unix(s.rec.lastSeen, 0)) < m.touchStep() {
		return s, nil
	}
	return m.update(ctx, s)
}

func (m *Middleware) needsRefresh(rec *sessionRecord, now time.Time) bool {
	exp := rec.id.Expiry
	return rec.id.RefreshToken != "" && !exp.IsZero() && exp.Sub(now) <= m.opts.RefreshMargin
}

func (m *Middleware) touchStep() time.Duration {
	return min(m.opts.IdleTimeout/10, maxTouchStep)
}

func (m *Middleware) endSession(ctx context.Context, key string) {
	if err := m.opts.Store.Delete(ctx, key); err != nil {
		m.opts.Logger.WarnContext(ctx, "oidcmw: could not delete an ended session", "err", err)
	}
}

// update refreshes and/or touches s, once for all concurrent requests of
// the session in this process (singleflight by store key), and under a
// store lease across instances. The work outlives a caller that gives up;
// timeouts bound it. The session and error it returns are shared by the
// waiters: neither is changed after it is returned.
func (m *Middleware) update(ctx context.Context, s *liveSession) (*liveSession, error) {
	ch := m.flights.DoChan(s.key, func() (any, error) {
		return m.updateLeased(context.WithoutCancel(ctx), s)
	})
	select {
	case r := <-ch:
		ls, _ := r.Val.(*liveSession)
		return ls, r.Err
	case <-ctx.Done():
		return nil, &unavailable{what: "session refresh", err: ctx.Err(), retry: true}
	}
}

// updateLeased takes the session's lease, rereads it (another instance may
// have refreshed it already), refreshes when still needed, and writes it
// back with a new idle timeout.
func (m *Middleware) updateLeased(ctx context.Context, s *liveSession) (*liveSession, error) {
	lease := "oidcmw:lease:" + s.key
	added, err := m.opts.Store.Add(ctx, lease, []byte{1}, leaseTTL)
	if err != nil {
		return m.keepServing(s, storeError(err))
	}
	if !added {
		return m.waitForLease(ctx, s, lease)
	}
	defer func() {
		if err := m.opts.Store.Delete(ctx, lease); err != nil {
			m.opts.Logger.WarnContext(ctx, "oidcmw: could not release a refresh lease", "err", err)
		}
	}()
	cur := &liveSession{key: s.key}
	found, err := m.readSession(ctx, cur, true)
	switch {
	case err != nil:
		return m.keepServing(s, err)
	case !found:
		return nil, errSessionEnded
	}
	now := m.opts.Now()
	if m.needsRefresh(&cur.rec, now) {
		rec, err := m.refresh(ctx, &cur.rec)
		switch {
		case errors.Is(err, errSessionEnded):
			m.opts.Logger.InfoContext(ctx, "oidcmw: session ended at refresh", "reason", err)
			m.endSession(ctx, s.key)
			return nil, errSessionEnded
		case err != nil:
			return m.keepServing(cur, err)
		}
		cur.rec = *rec
	}
	cur.rec.lastSeen = now.Unix()
	cur.rec.id.SessionExpiry = m.sessionEnd(&cur.rec)
	if err := m.writeSession(ctx, cur.key, &cur.rec); err != nil {
		return m.keepServing(cur, storeError(err))
	}
	return cur, nil
}

// waitForLease waits while another instance updates the session, then
// rereads it. A touch does not wait: the other writer moves the idle
// timeout too.
func (m *Middleware) waitForLease(ctx context.Context, s *liveSession, lease string) (*liveSession, error) {
	if !m.needsRefresh(&s.rec, m.opts.Now()) {
		return s, nil
	}
	deadline := time.Now().Add(leaseTTL)
	t := time.NewTicker(leasePoll)
	defer t.Stop()
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return m.keepServing(s, &unavailable{what: "session refresh", err: ctx.Err()})
		case <-t.C:
		}
		cur := &liveSession{key: s.key}
		found, err := m.readSession(ctx, cur, true)
		switch {
		case err != nil:
			return m.keepServing(s, err)
		case !found:
			return nil, errSessionEnded
		case cur.rec.id.AccessToken != s.rec.id.AccessToken:
			return cur, nil // the winner's result
		}
		if _, held, err := m.getFresh(ctx, lease); err == nil && !held {
			// The other instance gave up without a new token.
			return m.keepServing(cur, &unavailable{what: "session refresh", err: errors.New("refresh by another instance failed")})
		}
	}
	return m.keepServing(s, &unavailable{what: "session refresh", err: errors.New("timed out waiting for another instance")})
}

// keepServing decides what an update failure means: while the access token
// is still valid the request is served with the session as it is (an
// outage must not log users out); after that the provider is needed, and
// the request fails with 503.
func (m *Middleware) keepServing(s *liveSession, err error) (*liveSession, error) {
	exp := s.rec.id.Expiry
	if exp.IsZero() || m.opts.Now().Before(exp) {
		m.opts.Logger.Warn("oidcmw: serving the session as it is", "err", err)
		return s, nil
	}
	// err may be shared with other requests (a discovery or key set
	// failure): it is wrapped, never changed.
	return nil, &unavailable{what: "session refresh", err: err, retry: true}
}
