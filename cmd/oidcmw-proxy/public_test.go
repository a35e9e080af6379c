package main

import (
	"strings"
	"testing"
)

func TestCleanPath(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "/",
		"/":                 "/",
		"//admin":           "/admin",
		"///admin":          "/admin",
		"/public/../admin":  "/admin",
		"/public/./x":       "/public/x",
		"/public//x/":       "/public/x/",
		"/static/":          "/static/",
		"/a/b/..":           "/a",
		"/a/b/../":          "/a/",
		"/../../etc/passwd": "/etc/passwd",
		"/foo/secret#/bar":  "/foo/secret#/bar",
		"/a/.":              "/a",
		"/a/./":             "/a/",
	} {
		if got := cleanPath(in); got != want {
			t.Errorf("cleanPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParsePublicRoute(t *testing.T) {
	for _, bad := range []string{
		"", "GET", "/static/", "get /static/", "GET static/", "GET ^/api/.*/status", "GET /api/.*/status$",
		"GET ^/api/(.*/status$", "G?T /x", "GET .*",
	} {
		if _, err := parsePublicRoute(bad); err == nil || !strings.Contains(err.Error(), "--public-route") {
			t.Errorf("parsePublicRoute(%q): %v, want an error naming --public-route", bad, err)
		}
	}
	for _, tc := range []struct {
		route, method, path string
		want                bool
	}{
		{"GET /static/", "GET", "/static/app.js", true},
		{"GET /static/", "HEAD", "/static/app.js", false},
		{"GET /static/", "GET", "/static", false},
		{"* /static/", "DELETE", "/static/x", true},
		{"PROPFIND /dav/", "PROPFIND", "/dav/x", true},
		{"GET ^/api/.*/status$", "GET", "/api/v1/status", true},
		{"GET ^/api/.*/status$", "GET", "/api/private/sensitive", false},
		{"GET ^/api/.*/status$", "GET", "/api/v1/status/extra", false},
		// The whole pattern is anchored, alternations included.
		{"GET ^/a$|^/b$", "GET", "/b", true},
		{"GET ^/a$|^/b$", "GET", "/bx", false},
		{"GET ^/a$|/b$", "GET", "/x/b", false},
		{"GET   ^/with space$  ", "GET", "/with space", true},
	} {
		pr, err := parsePublicRoute(tc.route)
		if err != nil {
			t.Errorf("parsePublicRoute(%q): %v", tc.route, err)
			continue
		}
		if got := pr.matches(tc.method, tc.path); got != tc.want {
			t.Errorf("%q matches %s %s = %t, want %t", tc.route, tc.method, tc.path, got, tc.want)
		}
	}
}
