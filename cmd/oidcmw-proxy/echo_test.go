package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// seen is what the echo upstream got, as it answers it in JSON.
type seen struct {
	Method     string      `json:"method"`
	Path       string      `json:"path"`        // URL.Path, decoded
	RequestURI string      `json:"request_uri"` // the raw request target
	Host       string      `json:"host"`
	Header     http.Header `json:"header"`
	Trailer    http.Header `json:"trailer"` // after the body
}

// echo is the upstream of the tests: it answers every request with what it
// got, and remembers the paths. GET /slow waits for release first.
type echo struct {
	*httptest.Server
	mu      sync.Mutex
	paths   []string
	slow    chan struct{} // /slow has arrived
	release chan struct{} // /slow may answer
}

func newEcho(t *testing.T) *echo {
	t.Helper()
	e := &echo{slow: make(chan struct{}, 1), release: make(chan struct{})}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.paths = append(e.paths, r.URL.Path)
		e.mu.Unlock()
		if r.URL.Path == "/slow" {
			e.slow <- struct{}{}
			<-e.release
		}
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(seen{Method: r.Method, Path: r.URL.Path, RequestURI: r.RequestURI,
			Host: r.Host, Header: r.Header, Trailer: r.Trailer})
	}))
	t.Cleanup(e.Close)
	return e
}

// hits is the number of requests the echo has had.
func (e *echo) hits() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.paths)
}

// decode parses an echo answer.
func decodeSeen(t *testing.T, body string) seen {
	t.Helper()
	var s seen
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("not an echo answer: %v: %q", err, body)
	}
	return s
}

// values are the values of every header that the upstream may read as
// name: any case, "_" for "-".
func (s seen) values(name string) []string {
	var out []string
	for k, vs := range s.Header {
		if normalName(k) == normalName(name) {
			out = append(out, vs...)
		}
	}
	return out
}

// only is the single value of name (any spelling), or "" with ok false
// when there are none or several.
func (s seen) only(name string) (string, bool) {
	vs := s.values(name)
	if len(vs) != 1 {
		return "", false
	}
	return vs[0], true
}

// containing lists the headers with a value containing sub.
func (s seen) containing(sub string) []string {
	var out []string
	for k, vs := range s.Header {
		for _, v := range vs {
			if strings.Contains(v, sub) {
				out = append(out, k+": "+v)
			}
		}
	}
	return out
}
