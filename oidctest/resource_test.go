package oidctest

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
)

const (
	apiA = "https://api.example/a"
	apiB = "https://api.example/b"
)

// resourcesOf returns the resources recorded for access token at.
func resourcesOf(s *Server, at any) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.access[at.(string)].resources
}

func TestResourceIndicators(t *testing.T) {
	s := newTestServer(t, Config{})
	tests := []struct {
		name      string
		authorize []string
		token     []string
		want      []string // nil: invalid_target
	}{
		{"none", nil, nil, []string{}},
		{"at authorization", []string{apiA, apiB}, nil, []string{apiA, apiB}},
		{"narrowed at the token endpoint", []string{apiA, apiB}, []string{apiB}, []string{apiB}},
		{"only at the token endpoint", nil, []string{apiA}, []string{apiA}},
		{"not authorized", []string{apiA}, []string{apiB}, nil},
		{"relative at the token endpoint", nil, []string{"/api"}, nil},
		{"with a fragment at the token endpoint", nil, []string{apiA + "#x"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlow(s)
			f.extra = url.Values{"resource": tt.authorize}
			form := f.codeForm(f.code(t))
			form["resource"] = tt.token
			status, _, body := postJSON(t, s, "/token", form, defaultAuth)
			if tt.want == nil {
				wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_target")
				return
			}
			if status != http.StatusOK {
				t.Fatalf("token: %d %v", status, body)
			}
			if got := resourcesOf(s, body["access_token"]); !slices.Equal(got, tt.want) {
				t.Errorf("access token resources = %v, want %v", got, tt.want)
			}
			// Refreshes may narrow to the authorized resources too.
			if len(tt.authorize) > 0 {
				rf := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {body["refresh_token"].(string)},
					"resource": {tt.authorize[0]}}
				status, _, refreshed := postJSON(t, s, "/token", rf, defaultAuth)
				if status != http.StatusOK || !slices.Equal(resourcesOf(s, refreshed["access_token"]), tt.authorize[:1]) {
					t.Errorf("refresh: %d %v", status, refreshed)
				}
				rf.Set("resource", "https://other.example/")
				status, _, refreshed = postJSON(t, s, "/token", rf, defaultAuth)
				wantOAuthError(t, status, refreshed, http.StatusBadRequest, "invalid_target")
			}
		})
	}
	// What the OP received is in Requests.
	var got []string
	for _, r := range s.Requests() {
		if r.Path == "/authorize" && len(r.Query["resource"]) == 2 {
			got = r.Query["resource"]
		}
	}
	if !slices.Equal(got, []string{apiA, apiB}) {
		t.Errorf("recorded resources = %v", got)
	}
}

func TestResourceIndicatorRefusedAtAuthorization(t *testing.T) {
	s := newTestServer(t, Config{})
	for _, r := range []string{"/api", "api.example", apiA + "#frag", ""} {
		f := newFlow(s)
		f.extra = url.Values{"resource": {apiA, r}}
		p := f.authorize(t)
		wantEqual(t, r+": error", p.Get("error"), "invalid_target")
		wantEqual(t, r+": state", p.Get("state"), f.state)
	}
}
