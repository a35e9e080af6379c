package oidcmw

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

// FuzzCallbackParams: the authorization response parser never panics, and
// what it accepts has each parameter once and within the size limit.
func FuzzCallbackParams(f *testing.F) {
	for _, s := range []string{
		"code=abc&state=ABCDEFGHIJKLMNOPQRSTUVWXYZ&iss=https%3A%2F%2Fop",
		"state=a&state=b", "code=%zz", "=&&=&", "error=access_denied&error_description=%00%0d%0a",
		"code=" + strings.Repeat("a", 9000), "a;b=c", "%", "state=\x00",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, post bool) {
		var r *http.Request
		if post {
			r = httptest.NewRequest(http.MethodPost, "/cb", strings.NewReader(raw))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			r = httptest.NewRequest(http.MethodGet, "/cb", nil)
			r.URL.RawQuery = raw
		}
		v, err := callbackParams(r, defaultLimits)
		if err != nil {
			return
		}
		for k, vs := range v {
			if len(vs) != 1 || len(vs[0]) > defaultLimits.MaxParamBytes {
				t.Fatalf("accepted %q = %q", k, vs)
			}
		}
	})
}

// FuzzRecords: decoding a stored record (untrusted when the store is
// shared) never panics, and a record that decodes encodes back the same.
func FuzzRecords(f *testing.F) {
	s := sessionRecord{id: Identity{Subject: "alice", Issuer: "https://op", IDToken: "a.b.c",
		AccessToken: "at", RawClaims: []byte(`{"sub":"alice"}`), Expiry: time.Unix(1800000000, 0)},
		sid: "sid", created: 1, lastSeen: 2}
	p := pendingRecord{state: "S", binding: "B", nonce: "N", codeVerifier: "V", returnTo: "/", acr: "mfa", expires: 3}
	f.Add(s.marshal())
	f.Add(p.marshal())
	f.Add([]byte{sessionRecordV1, 0xff, 0xff, 0xff})
	f.Add([]byte{pendingRecordV1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s sessionRecord
		if s.unmarshal(b) == nil {
			var again sessionRecord
			if err := again.unmarshal(s.marshal()); err != nil {
				t.Fatalf("re-decoding a decoded session record: %v", err)
			}
		}
		var p, again pendingRecord
		if p.unmarshal(b) == nil && (again.unmarshal(p.marshal()) != nil || !reflect.DeepEqual(again, p)) {
			t.Fatalf("pending record does not round-trip: %+v, %+v", p, again)
		}
	})
}

// FuzzSessionCookie: whatever Cookie header arrives, loading the session
// never panics and finds nothing in an empty store.
func FuzzSessionCookie(f *testing.F) {
	m, err := New(Options{Issuer: "http://127.0.0.1:1", ClientID: "c", RedirectURL: "http://127.0.0.1/cb"})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"oidcmw=ABCDEFGHIJKLMNOPQRSTUVWXYZ", "oidcmw=" + strings.Repeat("A", 5000),
		"oidcmw=\"\x00\"; oidcmw=a", "oidcmw_login_ABCDEFGH=ABCDEFGHIJKLMNOPQRSTUVWXYZ", ";;=;", "oidcmw=%41"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cookie string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Cookie", cookie)
		s, err := m.sess.load(r)
		if s != nil || err != nil {
			t.Fatalf("empty store gave a session (%v, %v)", s, err)
		}
		_ = m.sess.browserBinding(r)
	})
}

// FuzzJWT: ID token verification (go-oidc, the key set, the strict claims
// decoder) never panics and never accepts a token the provider's key did
// not sign.
func FuzzJWT(f *testing.F) {
	op := newJWKSOP(f)
	op.setKeys(f, pub(rsaKeys()[0], "k"))
	m, err := New(Options{Issuer: op.URL, ClientID: testClientID, RedirectURL: "http://127.0.0.1/cb",
		Limits: Limits{KeyRefetchInterval: time.Hour}})
	if err != nil {
		f.Fatal(err)
	}
	p, err := m.disc.get(context.Background())
	if err != nil {
		f.Fatal(err)
	}
	f.Add("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.eyJzdWIiOiJ4In0.c2ln")
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	f.Add("eyJhbGciOiJIUzI1NiIsImtpZCI6ImsifQ.e30.AAAA")
	f.Add(strings.Repeat(".", 1000))
	f.Add("e30")
	f.Fuzz(func(t *testing.T, raw string) {
		if _, err := m.verify.idToken(context.Background(), p, raw, Checks{}, true); err == nil {
			t.Fatalf("accepted a token the key did not sign: %q", raw)
		}
	})
}
