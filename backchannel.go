package oidcmw

import (
	"fmt"
	"net/http"
)

// BackchannelLogout receives OpenID Connect Back-Channel Logout 1.0 logout
// tokens. Mount it for POST at the URL registered at the provider as
// backchannel_logout_uri, outside the guard and outside CSRF protection:
// the provider calls it server to server, with no cookie, and the signed
// token is what authenticates the call.
//
// A valid token ends every session of its sid (or, when it has no sid,
// of its sub), in every instance that shares the Store, and gets 200. A
// token that fails a check (signature with the provider's JWKS and the
// discovery algorithms, never none; typ logout+jwt when present; iss; aud;
// exp; iat within 5 minutes; the back-channel event; sid or sub; no nonce;
// a jti not seen before) gets 400 with a JSON error and ends nothing. A
// token for a sid or sub without sessions gets 200 and changes nothing.
func (m *Middleware) BackchannelLogout(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		h.Set("Allow", http.MethodPost)
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	err := m.backchannel(r)
	if err == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	m.events.logout(r.Context(), EventBackchannelLogout, "", "", 0, err)
	m.events.failed(r.Context(), err)
	status := StatusCode(err)
	if status < 500 {
		m.opts.Logger.WarnContext(r.Context(), "oidcmw: logout token refused", "reason", reasonCode(err), "err", err)
		status = http.StatusBadRequest
	} else if !m.outages.covers(err) {
		m.opts.Logger.ErrorContext(r.Context(), "oidcmw: back-channel logout failed", "reason", reasonCode(err), "status", status, "err", err)
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":"invalid_request","error_description":%q}`+"\n", reasonCode(err))
}

func (m *Middleware) backchannel(r *http.Request) error {
	ctx := r.Context()
	params, err := callbackParams(r, m.opts.Limits)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidLogoutToken, err)
	}
	raw := params.Get("logout_token")
	if raw == "" {
		return fmt.Errorf("%w: logout_token missing", ErrInvalidLogoutToken)
	}
	p, err := m.disc.get(ctx)
	if err != nil {
		return err
	}
	lt, err := m.verify.logoutToken(ctx, p, raw)
	if err != nil {
		return err
	}
	// The jti is recorded last, so a token refused for another reason does
	// not burn its jti.
	added, err := m.opts.Store.Add(ctx, jtiKey(lt.Issuer, lt.JTI), []byte{1}, 2*(logoutTokenWindow+m.opts.ClockSkew))
	if err != nil {
		return storeError(err)
	}
	if !added {
		return fmt.Errorf("%w: jti replayed", ErrInvalidLogoutToken)
	}
	// With a sid, the sessions of that provider session; else all of sub's.
	index := indexKeys(lt.Issuer, lt.SID, lt.Subject)[0]
	st := m.opts.Store
	sessions, err := st.Members(ctx, index)
	if err != nil {
		return storeError(err)
	}
	for _, key := range sessions {
		if err := st.Delete(ctx, key); err != nil {
			return storeError(err)
		}
	}
	if err := st.Delete(ctx, index); err != nil {
		return storeError(err)
	}
	m.events.logout(ctx, EventBackchannelLogout, lt.Issuer, lt.Subject, len(sessions), nil)
	return nil
}
