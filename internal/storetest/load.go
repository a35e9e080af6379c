package storetest

import (
	"net/http"
	"slices"
	"sync"
	"time"
)

// Sample is one request of a Load.
type Sample struct {
	Start   time.Time
	Latency time.Duration
	Status  int // 0: no response
}

// Load sends GET requests to a URL from several clients at once, each in
// a loop, and records every one.
type Load struct {
	mu      sync.Mutex
	samples []Sample
	stop    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

// StartLoad starts one loop per client; accept is the Accept header.
func StartLoad(clients []*http.Client, url, accept string) *Load {
	l := &Load{stop: make(chan struct{})}
	for _, c := range clients {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				req.Header.Set("Accept", accept)
				start := time.Now()
				status := 0
				if resp, err := c.Do(req); err == nil {
					resp.Body.Close()
					status = resp.StatusCode
				}
				l.mu.Lock()
				l.samples = append(l.samples, Sample{Start: start, Latency: time.Since(start), Status: status})
				l.mu.Unlock()
			}
		}()
	}
	return l
}

// Stop ends the loops and waits for them; calls after the first do
// nothing.
func (l *Load) Stop() {
	l.once.Do(func() { close(l.stop) })
	l.wg.Wait()
}

// Between returns the requests that started at or after from and ended
// before to.
func (l *Load) Between(from, to time.Time) []Sample {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Sample
	for _, s := range l.samples {
		if !s.Start.Before(from) && s.Start.Add(s.Latency).Before(to) {
			out = append(out, s)
		}
	}
	return out
}

// FirstOK is the start of the first request at or after from that got
// 200, and whether there is one.
func (l *Load) FirstOK(from time.Time) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var first time.Time
	for _, s := range l.samples {
		if s.Status == http.StatusOK && !s.Start.Before(from) && (first.IsZero() || s.Start.Before(first)) {
			first = s.Start
		}
	}
	return first, !first.IsZero()
}

// Median is the median latency of samples; 0 for none.
func Median(samples []Sample) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	d := make([]time.Duration, len(samples))
	for i, s := range samples {
		d[i] = s.Latency
	}
	slices.Sort(d)
	return d[len(d)/2]
}
