package oidctest

import (
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// DPoP: demonstrating proof of possession (RFC 9449).

const (
	// dpopMaxAge is how old a proof's iat may be.
	dpopMaxAge = 5 * time.Minute
	// dpopNonceUses is how many proofs may use a server nonce before it
	// changes.
	dpopNonceUses = 10
)

// dpopFailure is why a DPoP proof is refused: code is invalid_dpop_proof
// or use_dpop_nonce.
type dpopFailure struct{ code, desc string }

// checkDPoP verifies the DPoP proof of r (RFC 9449 §4.3) and returns the
// RFC 7638 thumbprint (base64url) of its key, or "" and nil without a
// proof. accessToken, if set, must match the proof's ath; with
// requireNonce the proof must carry the current server nonce.
func (s *Server) checkDPoP(e *env, r *http.Request, accessToken string, requireNonce bool) (jkt string, fail *dpopFailure) {
	vals := r.Header.Values("DPoP")
	if len(vals) == 0 {
		return "", nil
	}
	bad := func(desc string) (string, *dpopFailure) {
		return "", &dpopFailure{"invalid_dpop_proof", desc}
	}
	if len(vals) > 1 {
		return bad("more than one DPoP header")
	}
	jws, err := jose.ParseSignedCompact(vals[0], clientKeyAlgs)
	if err != nil {
		return bad("not a JWS with a supported asymmetric algorithm")
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "dpop+jwt" {
		return bad("typ is not dpop+jwt")
	}
	key := h.JSONWebKey
	if key == nil || !key.Valid() || !key.IsPublic() {
		return bad("no public jwk in the header")
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return bad("invalid signature")
	}
	var c struct {
		JTI   string           `json:"jti"`
		HTM   string           `json:"htm"`
		HTU   string           `json:"htu"`
		IAT   *jwt.NumericDate `json:"iat"`
		Nonce string           `json:"nonce"`
		ATH   string           `json:"ath"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return bad("claims are not a JSON object")
	}
	switch {
	case c.JTI == "":
		return bad("no jti")
	case c.HTM != r.Method:
		return bad("htm is not the request's method")
	case !sameHTU(c.HTU, e.base+requestPath(r)):
		return bad("htu is not the request's URL")
	case c.IAT == nil:
		return bad("no iat")
	case c.IAT.Time().Before(e.now.Add(-dpopMaxAge)) || c.IAT.Time().After(e.now.Add(clockSkew)):
		return bad("iat is not recent")
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		if c.ATH != base64.RawURLEncoding.EncodeToString(sum[:]) {
			return bad("ath does not match the access token")
		}
	}
	tp, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		return bad("cannot compute the key's thumbprint")
	}
	jkt = base64.RawURLEncoding.EncodeToString(tp)
	if requireNonce && !s.useDPoPNonce(c.Nonce) {
		return "", &dpopFailure{"use_dpop_nonce", "the DPoP proof must carry the server's nonce"}
	}
	if !s.firstUse("dpop "+jkt+" "+c.JTI, e.now, c.IAT.Time().Add(dpopMaxAge)) {
		return bad("jti already used")
	}
	return jkt, nil
}

// dpopAlgList is the algs parameter of DPoP challenges (RFC 9449 §7.1).
func dpopAlgList() string {
	algs := make([]string, len(clientKeyAlgs))
	for i, a := range clientKeyAlgs {
		algs[i] = string(a)
	}
	return strings.Join(algs, " ")
}

// sameHTU reports whether a proof's htu names url, ignoring its query and
// fragment (RFC 9449 §4.3 step 9) and the case of scheme and host.
func sameHTU(htu, want string) bool {
	a, err1 := url.Parse(htu)
	b, err2 := url.Parse(want)
	return err1 == nil && err2 == nil && a.Host != "" &&
		strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host) &&
		a.EscapedPath() == b.EscapedPath()
}

// useDPoPNonce reports whether nonce is the current server nonce, and
// counts the use; after dpopNonceUses the nonce changes.
func (s *Server) useDPoPNonce(nonce string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if nonce != s.dpopNonce {
		return false
	}
	if s.nonceUses++; s.nonceUses >= dpopNonceUses {
		s.dpopNonce, s.nonceUses = randomToken(), 0
	}
	return true
}

func (s *Server) currentDPoPNonce() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dpopNonce
}

// RotateDPoPNonce replaces the token endpoint's DPoP nonce
// ([Config.DPoPNonce]): proofs with the old one get use_dpop_nonce and
// the new one in the DPoP-Nonce header. The nonce also changes by itself
// after 10 uses.
func (s *Server) RotateDPoPNonce() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dpopNonce, s.nonceUses = randomToken(), 0
}

// writeDPoPError answers a token request whose proof failed: 400 with the
// error, and the nonce to use for use_dpop_nonce (RFC 9449 §8).
func (s *Server) writeDPoPError(w http.ResponseWriter, f *dpopFailure) {
	if f.code == "use_dpop_nonce" {
		w.Header().Set("DPoP-Nonce", s.currentDPoPNonce())
	}
	oauthError(w, http.StatusBadRequest, f.code, f.desc)
}

// dpopNonceLoop is the DPoPNonceLoop behaviour: every token request gets
// use_dpop_nonce with a nonce that is never accepted.
func dpopNonceLoop(e *env, w http.ResponseWriter, r *http.Request) {
	w.Header().Set("DPoP-Nonce", randomToken())
	oauthError(w, http.StatusBadRequest, "use_dpop_nonce", "the DPoP proof must carry the server's nonce")
}
