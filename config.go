package oidcmw

import "fmt"

// Typed configuration: values of Options that the parts test on every
// request are parsed once, in New.

// responseMode is Options.ResponseMode.
type responseMode uint8

const (
	modeQuery responseMode = iota
	modeFormPost
	modeJWT
	modeQueryJWT
	modeFormPostJWT
)

var responseModeNames = [...]string{"query", "form_post", "jwt", "query.jwt", "form_post.jwt"}

func parseResponseMode(s string) (responseMode, error) {
	if s == "" {
		return modeQuery, nil
	}
	for i, name := range responseModeNames {
		if s == name {
			return responseMode(i), nil
		}
	}
	return 0, fmt.Errorf("oidcmw: Options.ResponseMode %q: want query, form_post, jwt, query.jwt or form_post.jwt", s)
}

func (r responseMode) String() string { return responseModeNames[r] }

// formPost: the callback is a POST (the provider's page posts a form).
func (r responseMode) formPost() bool { return r == modeFormPost || r == modeFormPostJWT }

// jarm: the response is a signed JWT (JARM).
func (r responseMode) jarm() bool { return r >= modeJWT }

// clientAuth is a token endpoint client authentication method (RFC 8414
// token_endpoint_auth_methods_supported values).
type clientAuth string

const (
	authSecretBasic   clientAuth = "client_secret_basic"
	authSecretPost    clientAuth = "client_secret_post"
	authSecretJWT     clientAuth = "client_secret_jwt"
	authPrivateKeyJWT clientAuth = "private_key_jwt"
	authNone          clientAuth = "none"
)
