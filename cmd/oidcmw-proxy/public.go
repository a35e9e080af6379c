package main

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// publicRoute is one --public-route "METHOD PATTERN": requests that match
// it go to the upstream without a session (and without identity headers).
type publicRoute struct {
	method string         // "*" or an HTTP method, compared exactly
	prefix string         // a path prefix, when the pattern starts with "/"
	re     *regexp.Regexp // the whole path, when the pattern is "^...$"
}

// parsePublicRoute parses "METHOD PATTERN". METHOD is "*" or an upper-case
// HTTP method (methods are case-sensitive: "get" would never match).
// PATTERN is a path prefix starting with "/" ("/static/") without regexp
// metacharacters, or an anchored RE2 regexp that starts with "^" and ends
// with "$" ("^/api/[^/]+/status$"); the regexp must match the whole path.
// Anything else is refused: an unanchored regexp would match inside the
// path, and a regexp missing its "^" would be a prefix that never
// matches.
func parsePublicRoute(s string) (publicRoute, error) {
	method, pattern, ok := strings.Cut(strings.TrimSpace(s), " ")
	pattern = strings.TrimSpace(pattern)
	if !ok || pattern == "" {
		return publicRoute{}, fmt.Errorf("--public-route %q: want \"METHOD PATTERN\", e.g. \"GET /static/\"", s)
	}
	if method != "*" && !isMethod(method) {
		return publicRoute{}, fmt.Errorf("--public-route %q: METHOD must be * or an upper-case HTTP method", s)
	}
	pr := publicRoute{method: method}
	switch {
	case strings.HasPrefix(pattern, "/"):
		if strings.ContainsAny(pattern, `^$*+?()[]{}|\`) {
			// A regexp without its "^" would be taken literally and
			// never match: say so.
			return publicRoute{}, fmt.Errorf("--public-route %q: a prefix must not hold any of ^$*+?()[]{}|\\ (a regexp starts with ^ and ends with $)", s)
		}
		pr.prefix = pattern
	case strings.HasPrefix(pattern, "^") && strings.HasSuffix(pattern, "$"):
		// The extra anchors make the whole pattern match the whole path,
		// whatever alternations it holds.
		re, err := regexp.Compile("^(?:" + pattern + ")$")
		if err != nil {
			return publicRoute{}, fmt.Errorf("--public-route %q: %w", s, err)
		}
		pr.re = re
	default:
		return publicRoute{}, fmt.Errorf("--public-route %q: PATTERN must be a path prefix starting with / or a regexp starting with ^ and ending with $", s)
	}
	return pr, nil
}

// isMethod reports whether s is an upper-case method token (RFC 9110
// §9.1; extension methods such as PROPFIND and M-SEARCH included).
func isMethod(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// matches reports whether a request with method for p (a path from
// cleanPath: decoded, without query) is public.
func (pr publicRoute) matches(method, p string) bool {
	if pr.method != "*" && pr.method != method {
		return false
	}
	if pr.re != nil {
		return pr.re.MatchString(p)
	}
	return strings.HasPrefix(p, pr.prefix)
}

// publicRoutes are the --public-route rules; a request is public when any
// matches.
type publicRoutes []publicRoute

func (ps publicRoutes) match(method, p string) bool {
	for _, pr := range ps {
		if pr.matches(method, p) {
			return true
		}
	}
	return false
}

// cleanPath is the path the rules see and the upstream gets: p (the
// request's URL.Path, percent-decoded once by net/http) with dot segments
// and repeated slashes removed by path.Clean, keeping a trailing slash.
// "/public/../admin" and "//admin" become "/admin"; "" becomes "/". p must
// start with "/" (or be empty).
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}
