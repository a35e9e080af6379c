package idjwt_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestJWKS(t *testing.T) {
	for _, kc := range keyCases {
		t.Run(kc.name, func(t *testing.T) {
			s, _ := newSigner(t, 0, kc.key(t))
			h := s.JWKS()

			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/oauth2/jwks", nil))
			if rec.Code != http.StatusOK {
				t.Fatalf("GET: status %d", rec.Code)
			}
			for k, want := range map[string]string{
				"Content-Type":           "application/jwk-set+json",
				"Cache-Control":          "public, max-age=300",
				"X-Content-Type-Options": "nosniff",
			} {
				if got := rec.Header().Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			var set struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil {
				t.Fatal(err)
			}
			if len(set.Keys) != 1 {
				t.Fatalf("%d keys, want 1", len(set.Keys))
			}
			k := set.Keys[0]
			if k["alg"] != kc.alg || k["use"] != "sig" || k["kid"] == "" || k["kid"] == nil {
				t.Errorf("key %v: want alg %s, use sig and a kid", k, kc.alg)
			}
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
				if _, ok := k[private]; ok {
					t.Errorf("key set holds the private parameter %q", private)
				}
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			if key := fetchKeySet(t, srv.URL).Keys[0]; !key.IsPublic() || !key.Valid() {
				t.Error("served key is not a valid public key")
			}

			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/oauth2/jwks", nil))
			if rec.Code != http.StatusOK || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") == "" {
				t.Errorf("HEAD: status %d, %d body bytes, Content-Length %q", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Length"))
			}

			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/oauth2/jwks", nil))
			if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("POST: status %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
			}
		})
	}
}
