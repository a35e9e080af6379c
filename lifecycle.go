package oidcmw

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// The guard's session maintenance. Writes after login (refresh, and the
// "touch" that moves the idle timeout) happen under a lease in the store,
// so that at most one instance rewrites a session at a time and a refresh
// is never overwritten with older tokens.

const leasePoll = 25 * time.Millisecond // how often a waiting instance looks

// refreshLease is how long an instance holds a session's refresh lease:
// longer than a refresh can take, which is up to three requests (the grant,
// its DPoP nonce retry, UserInfo), each bounded by the HTTP client's
// timeout (30 s assumed when it has none). A lease that lapsed mid-refresh
// would let another instance redeem a refresh token already rotated, and a
// provider with reuse detection would revoke the grant.
func refreshLease(c *http.Client) time.Duration {
	perRequest := c.Timeout
	if perRequest <= 0 {
		perRequest = 30 * time.Second
	}
	return max(3*perRequest+5*time.Second, 15*time.Second)
}

// maintain applies the timeouts, refreshes the access token when it is
// about to expire, and moves the idle timeout. It returns errSessionEnded
// when the session is over, or a provider or store error when the request
// cannot be served.
func (m *Middleware) maintain(ctx context.Context, s *liveSession) (*liveSession, error) {
	now := m.opts.Now()
	if !now.Before(s.rec.id.SessionExpiry) { // set by sessions.read
		m.sess.remove(ctx, s.key)
		return nil, errSessionEnded
	}
	if !m.sess.needsRefresh(&s.rec, now) && now.Sub(time.Unix(s.rec.lastSeen, 0)) < m.sess.touchStep() {
		return s, nil
	}
	return m.update(ctx, s)
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
	lease := leaseKey(s.key)
	added, err := m.opts.Store.Add(ctx, lease, []byte{1}, m.lease)
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
	found, err := m.sess.read(ctx, cur, true)
	switch {
	case err != nil:
		return m.keepServing(s, err)
	case !found:
		return nil, errSessionEnded
	}
	now := m.opts.Now()
	if m.sess.needsRefresh(&cur.rec, now) {
		rec, err := m.refresh(ctx, &cur.rec)
		switch {
		case errors.Is(err, errSessionEnded):
			m.opts.Logger.InfoContext(ctx, "oidcmw: session ended at refresh", "reason", err)
			m.sess.remove(ctx, s.key)
			return nil, errSessionEnded
		case err != nil:
			return m.keepServing(cur, err)
		}
		cur.rec = *rec
	}
	cur.rec.lastSeen = now.Unix()
	cur.rec.id.SessionExpiry = m.sess.end(&cur.rec)
	// Only if the session is still there: a logout during the refresh wins.
	switch err := m.sess.rewrite(ctx, cur.key, &cur.rec); {
	case errors.Is(err, errSessionEnded):
		m.opts.Logger.InfoContext(ctx, "oidcmw: session ended while it was refreshed")
		return nil, errSessionEnded
	case err != nil:
		return m.keepServing(cur, err)
	}
	return cur, nil
}

// refresh redeems the refresh token of rec at its provider.
func (m *Middleware) refresh(ctx context.Context, rec *sessionRecord) (*sessionRecord, error) {
	start := m.opts.Now()
	p, err := m.disc.get(ctx)
	var next *sessionRecord
	if err == nil {
		next, err = m.tokens.refresh(ctx, p, rec, m.opts.FetchUserInfo)
	}
	m.events.refresh(ctx, m.opts.Now().Sub(start), err)
	return next, err
}

// waitForLease waits while another instance updates the session, then
// rereads it. A touch does not wait: the other writer moves the idle
// timeout too.
func (m *Middleware) waitForLease(ctx context.Context, s *liveSession, lease string) (*liveSession, error) {
	if !m.sess.needsRefresh(&s.rec, m.opts.Now()) {
		return s, nil
	}
	deadline := time.Now().Add(m.lease)
	t := time.NewTicker(leasePoll)
	defer t.Stop()
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return m.keepServing(s, &unavailable{what: "session refresh", err: ctx.Err()})
		case <-t.C:
		}
		cur := &liveSession{key: s.key}
		found, err := m.sess.read(ctx, cur, true)
		switch {
		case err != nil:
			return m.keepServing(s, err)
		case !found:
			return nil, errSessionEnded
		case cur.rec.id.AccessToken != s.rec.id.AccessToken:
			return cur, nil // the winner's result
		}
		if _, held, err := m.sess.getFresh(ctx, lease); err == nil && !held {
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
		if !m.outages.covers(err) {
			m.opts.Logger.Warn("oidcmw: serving the session as it is", "err", err)
		}
		return s, nil
	}
	// err may be shared with other requests (a discovery or key set
	// failure): it is wrapped, never changed.
	return nil, &unavailable{what: "session refresh", err: err, retry: true}
}
