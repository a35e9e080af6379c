package oidcmw

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

const (
	backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"
	// logoutTokenWindow is how old a logout token may be; its jti is
	// remembered at least that long, so a replay inside the window is
	// caught and one outside it is too old.
	logoutTokenWindow = 5 * time.Minute
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
	status := StatusCode(err)
	if status < 500 {
		m.opts.Logger.WarnContext(r.Context(), "oidcmw: logout token refused", "reason", reasonCode(err), "err", err)
		status = http.StatusBadRequest
	} else {
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
	p, err := m.provider(ctx)
	if err != nil {
		return err
	}
	iss, sid, sub, err := m.verifyLogoutToken(ctx, p, raw)
	if err != nil {
		return err
	}
	// With a sid, the sessions of that provider session; else all of sub's.
	index := m.indexKeys(iss, sid, sub)[0]
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
	m.opts.Logger.InfoContext(ctx, "oidcmw: back-channel logout", "sessions", len(sessions))
	return nil
}

// verifyLogoutToken applies OIDC Back-Channel Logout 1.0 §2.6: signature,
// typ, iss, aud, exp, no nonce, jti, sid or sub, the event, and iat within
// the accepted window. The jti is recorded last, so a token refused for another
// reason does not burn its jti.
func (m *Middleware) verifyLogoutToken(ctx context.Context, p *provider, raw string) (iss, sid, sub string, err error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidLogoutToken}, a...)...)
	}
	if len(raw) > m.opts.Limits.MaxTokenBytes {
		return "", "", "", bad("too large")
	}
	h, payload, err := p.verifyJWT(ctx, p.idVerifier, p.idAlgs, raw, logoutToken)
	if err != nil {
		if errors.Is(err, ErrProviderUnavailable) {
			return "", "", "", err
		}
		return "", "", "", bad("%v", err)
	}
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "" && strings.TrimPrefix(strings.ToLower(typ), "application/") != "logout+jwt" {
		return "", "", "", bad("typ %.64q", typ)
	}
	var lt jwtClaims
	if err := decodeClaims(payload, &lt); err != nil {
		return "", "", "", bad("claims: %v", err)
	}
	if err := m.checkIssuerAudienceExpiry(p, &lt); err != nil {
		return "", "", "", bad("%v", err)
	}
	if _, ok := m.tenantOf(lt.Issuer); m.opts.TenantIssuer != "" && !ok {
		return "", "", "", bad("iss %q is not a tenant issuer", lt.Issuer)
	}
	switch {
	case lt.Nonce != nil:
		return "", "", "", bad("a logout token must not have a nonce")
	case lt.JTI == "":
		return "", "", "", bad("jti missing")
	case lt.Subject == "" && lt.SID == "":
		return "", "", "", bad("neither sub nor sid")
	}
	if ev := lt.Events[backchannelEvent]; len(ev) == 0 || ev[0] != '{' {
		return "", "", "", bad("the back-channel logout event is not an object")
	}
	now, skew := m.opts.Now(), m.opts.ClockSkew
	if lt.IssuedAt == nil {
		return "", "", "", bad("iat missing")
	}
	iat := lt.IssuedAt.time()
	if iat.After(now.Add(skew)) || iat.Before(now.Add(-logoutTokenWindow-skew)) {
		return "", "", "", bad("iat outside the accepted window")
	}
	added, err := m.opts.Store.Add(ctx, "oidcmw:jti:"+hashKey(lt.Issuer, lt.JTI), []byte{1}, 2*(logoutTokenWindow+skew))
	if err != nil {
		return "", "", "", storeError(err)
	}
	if !added {
		return "", "", "", bad("jti replayed")
	}
	return lt.Issuer, lt.SID, lt.Subject, nil
}
