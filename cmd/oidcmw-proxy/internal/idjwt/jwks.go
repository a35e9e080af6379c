package idjwt

import (
	"net/http"
	"strconv"
)

// jwksMaxAge is the Cache-Control max-age of the key set, in seconds.
const jwksMaxAge = 300

// JWKS returns a handler that serves the Signer's public key as a JSON Web
// Key Set (RFC 7517 §5) with Content-Type application/jwk-set+json
// (RFC 7517 §8.5.1): one key with "kid", "alg" and "use": "sig", and no
// private part. GET and HEAD are answered; other methods get 405.
//
// Responses may be cached for five minutes (Cache-Control: public,
// max-age=300). The key only changes when the proxy restarts without a
// configured key; a verifier that refetches on an unknown kid, as go-oidc
// does, is not held up by the cache. The handler is safe for concurrent use
// and needs no authentication: the set holds only a public key.
func (s *Signer) JWKS() http.Handler {
	length := strconv.Itoa(len(s.jwks))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		h.Set("Content-Type", "application/jwk-set+json")
		h.Set("Content-Length", length)
		h.Set("Cache-Control", "public, max-age="+strconv.Itoa(jwksMaxAge))
		h.Set("X-Content-Type-Options", "nosniff")
		if r.Method == http.MethodHead {
			return
		}
		w.Write(s.jwks)
	})
}
