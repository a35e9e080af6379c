package oidcmw

import (
	"context"
	"log/slog"
	"testing"
)

// BenchmarkCircuitStoreGet: a Store.Get through a closed circuit, against
// the same Get with the breaker disabled (the baseline of the same run).
func BenchmarkCircuitStoreGet(b *testing.B) {
	for _, tc := range []struct {
		name string
		cb   CircuitBreaker
	}{{"breaker=off", CircuitBreaker{Disabled: true}}, {"breaker=closed", CircuitBreaker{}}} {
		b.Run(tc.name, func(b *testing.B) {
			ms := NewMemoryStore(nil)
			ctx := context.Background()
			if err := ms.Put(ctx, "k", []byte("v"), 3600e9); err != nil {
				b.Fatal(err)
			}
			ev := &events{logger: slog.New(slog.DiscardHandler)}
			st := &breakerStore{Store: ms, dep: newDependency(depStore, tc.cb.withDefaults(), ev.logger, ev)}
			b.ReportAllocs()
			for b.Loop() {
				if _, found, err := st.Get(ctx, "k"); err != nil || !found {
					b.Fatal(found, err)
				}
			}
		})
	}
}
