module github.com/oidcmw/oidcmw

go 1.25.0

require (
	github.com/coreos/go-oidc/v3 v3.21.0
	github.com/go-jose/go-jose/v4 v4.1.9
	golang.org/x/oauth2 v0.36.0
	golang.org/x/sync v0.22.0
)

require github.com/sony/gobreaker/v2 v2.4.0
