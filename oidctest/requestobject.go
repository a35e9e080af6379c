package oidctest

import (
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strconv"
)

// Request objects (JAR, RFC 9101).

// requestObject verifies raw, a request object of client c (RFC 9101 §6):
// signed with a key of c.JWKS or HS256 with c.Secret, iss the client, aud
// the issuer, exp in the future, client_id the client. It returns the
// authorization request parameters it carries; string arrays become
// repeated parameters, other non-string values their JSON text.
func (s *Server) requestObject(e *env, c Client, raw string) (url.Values, error) {
	t, err := verifyClientJWT(c, raw)
	if err != nil {
		return nil, err
	}
	if id, _ := t.claims["client_id"].(string); id != c.ID {
		return nil, errors.New("client_id is not the client")
	}
	switch {
	case t.std.Issuer != c.ID:
		return nil, errors.New("iss is not the client")
	case !slices.Contains(t.std.Audience, e.issuer):
		return nil, errors.New("aud is not the issuer")
	}
	if err := t.checkTimes(e.now); err != nil {
		return nil, err
	}
	p := url.Values{}
	for k, v := range t.claims {
		switch k {
		case "iss", "aud", "exp", "iat", "nbf", "jti", "request", "request_uri":
			continue
		}
		switch v := v.(type) {
		case nil:
		case string:
			p.Set(k, v)
		case float64:
			p.Set(k, strconv.FormatFloat(v, 'f', -1, 64))
		case []any:
			strs := make([]string, 0, len(v))
			for _, x := range v {
				if s, ok := x.(string); ok {
					strs = append(strs, s)
				}
			}
			if len(strs) == len(v) {
				p[k] = strs
				continue
			}
			b, _ := json.Marshal(v)
			p.Set(k, string(b))
		default: // bool, objects such as claims
			b, _ := json.Marshal(v)
			p.Set(k, string(b))
		}
	}
	return p, nil
}
