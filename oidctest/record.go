package oidctest

import (
	"net/http"
	"net/url"
	"slices"
)

// Request is a request the server received, for assertions.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	// Form is the parsed application/x-www-form-urlencoded body, if any.
	Form   url.Values
	Header http.Header
}

func (r Request) clone() Request {
	r.Query = cloneValues(r.Query)
	r.Form = cloneValues(r.Form)
	r.Header = r.Header.Clone()
	return r
}

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = slices.Clone(vs)
	}
	return c
}

// Requests returns a copy of every request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		out[i] = r.clone()
	}
	return out
}

// Count returns how many requests had the given path, e.g. "/jwks".
func (s *Server) Count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if r.Path == path {
			n++
		}
	}
	return n
}

// serveHTTP records the request, lets a behaviour answer it, or routes it.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	err := r.ParseForm()
	rec := Request{
		Method: r.Method,
		Path:   r.URL.Path,
		Query:  r.URL.Query(),
		Header: r.Header.Clone(),
	}
	if len(r.PostForm) > 0 {
		rec.Form = cloneValues(r.PostForm)
	}
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "malformed request")
		return
	}
	s.mu.Lock()
	paths := s.paths
	s.mu.Unlock()
	if paths != nil {
		// A profile serves its endpoints at the paths its discovery
		// document names, and nothing else.
		path, ok := paths[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		r.URL.Path, r.URL.RawPath = path, ""
	}
	e := s.env("")
	for _, h := range e.hooks {
		if h.respond != nil && h.path == r.URL.Path && h.appliesTo(r.PostForm.Get("grant_type")) {
			h.respond(e, w, r)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}
