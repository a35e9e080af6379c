package scsstore_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/alexedwards/scs/v2/memstore"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/adapters/scsstore"
	"github.com/oidcmw/oidcmw/oidctest"
)

// browse opens url like a browser: it keeps cookies, follows redirects
// (through the provider's login, which oidctest approves at once) and
// returns the final page.
func browse(jar http.CookieJar, url string) string {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/html")
	resp, err := (&http.Client{Jar: jar}).Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func newJar() http.CookieJar {
	jar, _ := cookiejar.New(nil)
	return jar
}

// Sessions and pending logins can live in any scs backend (memstore here;
// redisstore, postgresstore, ... in production).
func ExampleNew() {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	defer app.Close()

	m, err := oidcmw.New(oidcmw.Options{
		Issuer:       op.URL,
		ClientID:     oidctest.DefaultClientID,
		ClientSecret: oidctest.DefaultClientSecret,
		RedirectURL:  app.URL + "/auth/callback",
		Store:        scsstore.New(memstore.New()),
	})
	if err != nil {
		log.Fatal(err)
	}
	mux.HandleFunc("GET /auth/callback", m.Callback)
	mux.Handle("/", m.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := oidcmw.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s", id.Subject)
	})))

	fmt.Println(browse(newJar(), app.URL+"/"))
	// Output: hello alice
}
