package oidctest

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/go-jose/go-jose/v4"
)

// endSession is the RP-initiated logout endpoint (OpenID Connect
// RP-Initiated Logout 1.0 §2).
//
// With a valid id_token_hint it ends the OP session of the hint's subject
// and sends back-channel logout tokens (logoutUser) before answering. An
// invalid hint, a client_id other than the hint's, or a
// post_logout_redirect_uri that is not registered for the client is
// refused with a 400 page and ends nothing. Without a hint nothing ends:
// with no cookies the server cannot tell whose session it is.
//
// With post_logout_redirect_uri it then redirects there, adding state;
// otherwise it shows a "signed out" page.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	e := s.env("")
	clientID := r.Form.Get("client_id")
	var h *idTokenHint
	if raw := r.Form.Get("id_token_hint"); raw != "" {
		var err error
		h, err = s.checkHint(e, raw)
		if err != nil || (clientID != "" && clientID != h.clientID) {
			writeHTML(w, http.StatusBadRequest, "Bad request", "Invalid id_token_hint.")
			return
		}
		clientID = h.clientID
	}
	s.mu.Lock()
	c, known := s.clients[clientID]
	s.mu.Unlock()
	target := r.Form.Get("post_logout_redirect_uri")
	var u *url.URL
	if target != "" {
		var ok bool
		if u, ok = postLogoutAllowed(c, known, target); !ok {
			writeHTML(w, http.StatusBadRequest, "Bad request", "Invalid post_logout_redirect_uri.")
			return
		}
	}
	if h != nil {
		s.logoutUser(r.Context(), e, h.sub)
	}
	if u == nil {
		writeHTML(w, http.StatusOK, "Signed out", "You have been signed out.")
		return
	}
	if st := r.Form.Get("state"); st != "" {
		q := u.Query()
		q.Set("state", st)
		u.RawQuery = q.Encode()
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// postLogoutAllowed parses target and reports whether it may receive the
// browser after logout: registered exactly when the known client c lists
// PostLogoutRedirectURIs, else any absolute http or https URL.
func postLogoutAllowed(c Client, known bool, target string) (*url.URL, bool) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, false
	}
	if known && len(c.PostLogoutRedirectURIs) > 0 && !slices.Contains(c.PostLogoutRedirectURIs, target) {
		return nil, false
	}
	return u, true
}

// idTokenHint is what end_session uses from an id_token_hint.
type idTokenHint struct {
	clientID string
	sub      string
}

var errBadHint = errors.New("oidctest: invalid id_token_hint")

// checkHint verifies that raw is an ID token this server issued: signed
// with the current or a rotated-out key, with this issuer. Expired tokens
// are accepted (RP-Initiated Logout 1.0 §2); logout tokens are not.
func (s *Server) checkHint(e *env, raw string) (*idTokenHint, error) {
	s.mu.Lock()
	keys := append([]*signingKey{s.key}, s.pastKeys...)
	s.mu.Unlock()
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(s.alg)})
	if err != nil || len(jws.Signatures) != 1 {
		return nil, errBadHint
	}
	hdr := jws.Signatures[0].Header
	if typ, _ := hdr.ExtraHeaders[jose.HeaderType].(string); typ != "" && typ != "JWT" {
		return nil, errBadHint
	}
	var payload []byte
	for _, k := range keys {
		if hdr.KeyID != "" && hdr.KeyID != k.kid {
			continue
		}
		if payload, err = jws.Verify(k.priv.Public()); err == nil {
			break
		}
	}
	if payload == nil {
		return nil, errBadHint
	}
	var c struct {
		Iss    string          `json:"iss"`
		Sub    string          `json:"sub"`
		Aud    json.RawMessage `json:"aud"`
		Azp    string          `json:"azp"`
		Events json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(payload, &c); err != nil || !e.issuerMatches(c.Iss) || c.Sub == "" || c.Events != nil {
		return nil, errBadHint
	}
	var aud []string
	if json.Unmarshal(c.Aud, &aud) != nil {
		aud = make([]string, 1)
		if json.Unmarshal(c.Aud, &aud[0]) != nil {
			return nil, errBadHint
		}
	}
	h := &idTokenHint{clientID: c.Azp, sub: c.Sub}
	if h.clientID == "" && len(aud) > 0 {
		h.clientID = aud[0]
	}
	if h.clientID == "" {
		return nil, errBadHint
	}
	return h, nil
}
