package interop

import (
	"context"
	"errors"
	"log"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
)

// zitadelKind is the OP library of github.com/zitadel/oidc/v3 (OpenID
// certified), served in-process by its example server (exampleop) with its
// in-memory example storage. What that storage cannot do is listed here.
var zitadelKind = opKind{
	name:  "zitadel",
	label: "zitadel example OP",
	start: startZitadelOP,
	lacks: map[feature]string{
		featureAlg("PS256"): zitadelOneKey,
		featureAlg("ES256"): zitadelOneKey,
		featureAlg("EdDSA"): zitadelOneKey,
		featureKeyRotation: "storage.Storage creates its one RS256 key in NewStorageWithClients " +
			"and has no exported way to replace it (SigningKey and KeySet return that key)",
		featureLogout: "its clients have no post_logout_redirect_uris (storage.Client.PostLogoutRedirectURIs " +
			"returns none and the glob list is unexported), and oidcmw always sends post_logout_redirect_uri, " +
			"so end_session answers invalid_request \"post_logout_redirect_uri invalid\"",
		featureBackchannelLogout: "zitadel/oidc's op package sends no logout tokens (back-channel logout " +
			"exists only as the discovery flags op.Config.BackChannelLogoutSupported and " +
			"BackChannelLogoutSessionSupported), and storage.Client has no backchannel_logout_uri",
	},
}

const zitadelOneKey = "storage.Storage signs every ID token with its one RS256 key " +
	"(SignatureAlgorithms returns RS256 only); its clients have no id_token_signed_response_alg"

// zitadelUser is the example user store's user the cases sign in as.
const zitadelUser = "id1"

// zitadelOP is a zitadel OP on an httptest server at 127.0.0.1.
type zitadelOP struct {
	issuer  string
	storage *storage.Storage
	users   storage.UserStore
}

// startZitadelOP serves exampleop.SetupServer on 127.0.0.1 (a free port)
// with the clients registered, until the test ends. Confidential clients
// are storage.WebClient (registered as client_secret_basic; the OP accepts
// client_secret_post from them too, as it advertises both), public ones
// storage.NativeClient (method none, PKCE required).
func startZitadelOP(t *testing.T, clients []client) op {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()

	// Our own client map (NewStorageWithClients), rather than
	// storage.RegisterClients, which writes a package-level map.
	registered := make(map[string]*storage.Client, len(clients))
	for _, c := range clients {
		if c.TokenEndpointAuthMethod == "none" {
			registered[c.ClientID] = storage.NativeClient(c.ClientID, c.RedirectURIs...)
		} else {
			registered[c.ClientID] = storage.WebClient(c.ClientID, c.ClientSecret, c.RedirectURIs...)
		}
	}
	users := storage.NewUserStore(issuer)
	if users.GetUserByID(zitadelUser) == nil {
		t.Fatalf("zitadel example user store has no user %q", zitadelUser)
	}
	o := &zitadelOP{issuer: issuer, storage: storage.NewStorageWithClients(users, registered), users: users}

	// SetupServer makes its logger the process's default slog logger (and
	// with it the log package's output); give that back at the end.
	logs := &syncBuffer{}
	prevSlog, prevLog, prevFlags := slog.Default(), log.Writer(), log.Flags()
	t.Cleanup(func() {
		slog.SetDefault(prevSlog)
		log.SetOutput(prevLog)
		log.SetFlags(prevFlags)
	})
	srv.Config.Handler = exampleop.SetupServer(issuer, o.storage, slog.New(slog.NewTextHandler(logs, nil)), false)
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		if t.Failed() {
			t.Logf("zitadel OP log:\n%s", logs.String())
		}
	})
	return o
}

func (o *zitadelOP) Issuer() string { return o.issuer }

func (o *zitadelOP) Kids() []string {
	k, err := o.storage.SigningKey(context.Background())
	if err != nil {
		return nil
	}
	return []string{k.ID()}
}

// account: every case signs in as the example store's first user
// ("test-user@127.0.0.1", password "verysecure"); its subject is its id.
func (o *zitadelOP) account(string) account {
	u := o.users.GetUserByID(zitadelUser)
	return account{login: u.Username, password: u.Password, subject: u.ID}
}

// ui: exampleop's login page (templates/login.html). There is no consent
// page, and end_session redirects without asking.
func (o *zitadelOP) ui() opUI {
	return opUI{
		login:    `form[action="/login/username"] input[name="username"]`,
		password: `form[action="/login/username"] input[name="password"]`,
		submit:   `form[action="/login/username"] button[type="submit"]`,
	}
}

func (o *zitadelOP) rotate(context.Context) ([]string, error) {
	return nil, errors.New("zitadel example OP: no key rotation")
}
