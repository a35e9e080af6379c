module github.com/oidcmw/oidcmw/adapters/scsstore

go 1.25.0

require (
	github.com/alexedwards/scs/v2 v2.9.0
	github.com/oidcmw/oidcmw v0.0.0
)

require (
	github.com/coreos/go-oidc/v3 v3.21.0 // indirect
	github.com/go-jose/go-jose/v4 v4.1.9 // indirect
	github.com/sony/gobreaker/v2 v2.4.0 // indirect
	golang.org/x/oauth2 v0.36.0 // indirect
	golang.org/x/sync v0.22.0 // indirect
)

replace github.com/oidcmw/oidcmw => ../..
