package oidctest

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Pushed authorization requests (RFC 9126).

const (
	// parLifetime is how long a request_uri from the PAR endpoint can be
	// used (once).
	parLifetime = 60 * time.Second
	// requestURIPrefix starts every request_uri the PAR endpoint issues
	// (RFC 9126 §2.2).
	requestURIPrefix = "urn:ietf:params:oauth:request_uri:"
)

// pushedRequest is an authorization request received at the PAR endpoint.
type pushedRequest struct {
	clientID string
	params   url.Values
	signed   bool // it came as a request object
	expires  time.Time
}

// par is the pushed authorization request endpoint (RFC 9126 §2). The
// client authenticates as at the token endpoint; the parameters, or the
// request object in request, are checked as the authorization endpoint
// would, and stored for one use within parLifetime. A DPoP proof binds
// the code to its key (RFC 9449 §10.1).
func (s *Server) par(w http.ResponseWriter, r *http.Request) {
	if !isForm(r) {
		oauthError(w, http.StatusBadRequest, "invalid_request", "body must be application/x-www-form-urlencoded")
		return
	}
	// A DPoP proof binds the code to its key, as dpop_jkt does (RFC 9449
	// §10.1). No nonce is asked for here.
	jkt, fail := s.checkDPoP(s.env(""), r, "", false)
	if fail != nil {
		s.writeDPoPError(w, fail)
		return
	}
	c, ok := s.authenticateClient(w, r)
	if !ok {
		return
	}
	e := s.env(c.ID)
	q := cloneValues(r.PostForm)
	for _, k := range []string{"client_secret", "client_assertion", "client_assertion_type"} {
		delete(q, k)
	}
	if q.Has("request_uri") {
		oauthError(w, http.StatusBadRequest, "invalid_request", "request_uri cannot be pushed (RFC 9126 §2.1)")
		return
	}
	signed := false
	if q.Has("request") {
		p, err := s.requestObject(e, c, q.Get("request"))
		if err != nil {
			oauthError(w, http.StatusBadRequest, "invalid_request_object", "request object: "+err.Error())
			return
		}
		q, signed = p, true
	}
	if !signed && s.requireSigned {
		oauthError(w, http.StatusBadRequest, "invalid_request", "a signed request object is required")
		return
	}
	if id := q.Get("client_id"); id != "" && id != c.ID {
		oauthError(w, http.StatusBadRequest, "invalid_request", "client_id is not the authenticated client")
		return
	}
	q.Set("client_id", c.ID)
	if jkt != "" {
		if q.Has("dpop_jkt") && q.Get("dpop_jkt") != jkt {
			oauthError(w, http.StatusBadRequest, "invalid_dpop_proof", "dpop_jkt is not the thumbprint of the proof's key")
			return
		}
		q.Set("dpop_jkt", jkt)
	}
	if !redirectAllowed(c, q.Get("redirect_uri")) {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the redirect_uri is not registered for this client")
		return
	}
	if _, ok := s.responseMode(q.Get("response_mode")); !ok {
		oauthError(w, http.StatusBadRequest, "invalid_request", "unsupported response_mode")
		return
	}
	if code, desc := checkAuthzRequest(q); code != "" {
		oauthError(w, http.StatusBadRequest, code, desc)
		return
	}
	uri := requestURIPrefix + randomToken()
	s.mu.Lock()
	for k, pr := range s.pushed {
		if !e.now.Before(pr.expires) {
			delete(s.pushed, k)
		}
	}
	s.pushed[uri] = &pushedRequest{clientID: c.ID, params: q, signed: signed, expires: e.now.Add(parLifetime)}
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{
		"request_uri": uri,
		"expires_in":  int64(parLifetime.Seconds()),
	})
}

// takePushed uses up the pushed request behind uri for clientID. problem
// says why there is none.
func (s *Server) takePushed(clientID, uri string, now time.Time) (pr *pushedRequest, problem string) {
	if !strings.HasPrefix(uri, requestURIPrefix) {
		return nil, "only request_uri values from the PAR endpoint are supported"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pr = s.pushed[uri]
	delete(s.pushed, uri)
	switch {
	case pr == nil:
		return nil, "unknown or already used"
	case pr.clientID != clientID:
		return nil, "issued to another client"
	case !now.Before(pr.expires):
		return nil, "expired"
	}
	return pr, ""
}
