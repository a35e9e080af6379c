package oidcmw

import "context"

type contextKey struct{ name string }

func (k *contextKey) String() string { return "oidcmw context value " + k.name }

var identityKey = &contextKey{"identity"}

// NewContext returns a copy of ctx that carries id. The guard uses it; tests
// of application handlers use it to fake a signed-in user.
func NewContext(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, identityKey, id)
}

// FromContext returns the identity the guard stored in ctx. ok is false
// when there is none (the handler is not behind the guard); it never panics.
func FromContext(ctx context.Context) (id *Identity, ok bool) {
	id, ok = ctx.Value(identityKey).(*Identity)
	return id, ok && id != nil
}
