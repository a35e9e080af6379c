package main

// The quick start of the README and of the package doc uses http.ServeMux;
// these examples show the same wiring on chi and gorilla/mux. They live in
// the example module so that the library's go.mod names neither router.

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/go-chi/chi/v5"
	"github.com/gorilla/mux"

	"github.com/oidcmw/oidcmw"
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

func Example_chi() {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	r := chi.NewRouter()
	app := httptest.NewServer(r)
	defer app.Close()

	m, err := oidcmw.New(oidcmw.Options{
		Issuer:       op.URL,
		ClientID:     oidctest.DefaultClientID,
		ClientSecret: oidctest.DefaultClientSecret,
		RedirectURL:  app.URL + "/auth/callback",
	})
	if err != nil {
		log.Fatal(err)
	}
	r.Get("/auth/login", m.Login)
	r.Get("/auth/callback", m.Callback)
	r.Get("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "public") })
	r.Group(func(r chi.Router) {
		r.Use(m.Guard)
		r.Get("/me", func(w http.ResponseWriter, r *http.Request) {
			id, _ := oidcmw.FromContext(r.Context())
			fmt.Fprintf(w, "me: %s", id.Subject)
		})
	})

	jar := newJar()
	fmt.Println(browse(jar, app.URL+"/"))
	fmt.Println(browse(jar, app.URL+"/auth/login?return_to=/me"))
	// Output:
	// public
	// me: alice
}

func Example_gorillaMux() {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	r := mux.NewRouter()
	app := httptest.NewServer(r)
	defer app.Close()

	m, err := oidcmw.New(oidcmw.Options{
		Issuer:       op.URL,
		ClientID:     oidctest.DefaultClientID,
		ClientSecret: oidctest.DefaultClientSecret,
		RedirectURL:  app.URL + "/auth/callback",
	})
	if err != nil {
		log.Fatal(err)
	}
	r.HandleFunc("/auth/callback", m.Callback).Methods(http.MethodGet)
	api := r.PathPrefix("/app").Subrouter()
	api.Use(m.Guard)
	api.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
		id, _ := oidcmw.FromContext(r.Context())
		fmt.Fprintf(w, "gorilla: %s", id.Subject)
	})

	fmt.Println(browse(newJar(), app.URL+"/app/me"))
	// Output: gorilla: alice
}
