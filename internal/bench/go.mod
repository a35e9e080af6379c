module github.com/oidcmw/oidcmw/internal/bench

go 1.25.0

require (
	github.com/alexedwards/scs/v2 v2.9.0
	github.com/coreos/go-oidc/v3 v3.21.0
	github.com/jackc/pgx/v5 v5.13.0
	github.com/oidcmw/oidcmw v0.0.0
	github.com/oidcmw/oidcmw/adapters/pgxstore v0.0.0
	github.com/oidcmw/oidcmw/adapters/redisstore v0.0.0
	github.com/oidcmw/oidcmw/adapters/rueidisstore v0.0.0
	github.com/redis/go-redis/v9 v9.22.0
	github.com/redis/rueidis v1.0.79
	golang.org/x/oauth2 v0.36.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/go-jose/go-jose/v4 v4.1.9 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	github.com/sony/gobreaker/v2 v2.4.0 // indirect
	go.uber.org/atomic v1.11.0 // indirect
	golang.org/x/sync v0.22.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
	golang.org/x/text v0.41.0 // indirect
)

replace (
	github.com/oidcmw/oidcmw => ../..
	github.com/oidcmw/oidcmw/adapters/pgxstore => ../../adapters/pgxstore
	github.com/oidcmw/oidcmw/adapters/redisstore => ../../adapters/redisstore
	github.com/oidcmw/oidcmw/adapters/rueidisstore => ../../adapters/rueidisstore
)
