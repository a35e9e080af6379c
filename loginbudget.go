package oidcmw

import (
	"sync"
	"time"
)

// loginBudget bounds what anonymous requests can cost: every cookieless
// navigation to a guarded page, and every GET of Login, stores a pending
// login until LoginTimeout. It counts the logins this instance started
// within the last LoginTimeout, in 60 buckets of a sixtieth of it each,
// and refuses more than max.
type loginBudget struct {
	max    int
	bucket time.Duration // LoginTimeout / 60

	mu      sync.Mutex
	buckets [60]budgetBucket
}

// budgetBucket counts the logins started in one bucket of time.
type budgetBucket struct {
	start int64 // unix nanoseconds of the bucket's start; 0 unused
	n     int
}

func newLoginBudget(limit int, loginTimeout time.Duration) *loginBudget {
	return &loginBudget{max: limit, bucket: max(loginTimeout/60, 1)}
}

// take books one login at now. When the budget is spent it books nothing
// and returns how long until the oldest counted login leaves the window.
func (b *loginBudget) take(now time.Time) (retryAfter time.Duration, ok bool) {
	t := now.UnixNano()
	start := t - t%int64(b.bucket)
	window := int64(b.bucket) * int64(len(b.buckets))
	b.mu.Lock()
	defer b.mu.Unlock()
	total, oldest := 0, int64(0)
	for i := range b.buckets {
		bk := &b.buckets[i]
		if bk.start != 0 && bk.start <= t-window {
			*bk = budgetBucket{}
		}
		if bk.start != 0 {
			total += bk.n
			if oldest == 0 || bk.start < oldest {
				oldest = bk.start
			}
		}
	}
	if total >= b.max {
		return time.Duration(oldest + window - t), false
	}
	bk := &b.buckets[(start/int64(b.bucket))%int64(len(b.buckets))]
	if bk.start != start {
		bk.start, bk.n = start, 0
	}
	bk.n++
	return 0, true
}
