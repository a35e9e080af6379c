package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"slices"
	"sync"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

var encryptionKeys = struct {
	once sync.Once
	rsa  *rsa.PrivateKey
	ec   *ecdsa.PrivateKey
}{}

// decryptionKey returns the client's RSA or P-256 decryption key.
func decryptionKey(t *testing.T, kind string) crypto.Signer {
	t.Helper()
	encryptionKeys.once.Do(func() {
		var err1, err2 error
		encryptionKeys.rsa, err1 = rsa.GenerateKey(rand.Reader, 2048)
		encryptionKeys.ec, err2 = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err1 != nil || err2 != nil {
			panic("generating keys")
		}
	})
	if kind == "RSA" {
		return encryptionKeys.rsa
	}
	return encryptionKeys.ec
}

func TestEncryptedIDToken(t *testing.T) {
	tests := []struct {
		alg, enc, key string
	}{
		{"RSA-OAEP", "A128GCM", "RSA"},
		{"RSA-OAEP-256", "A256GCM", "RSA"},
		{"RSA-OAEP-256", "A128CBC-HS256", "RSA"},
		{"ECDH-ES", "A128CBC-HS256", "EC"},
		{"ECDH-ES", "A256GCM", "EC"},
		{"ECDH-ES+A128KW", "A256GCM", "EC"},
		{"ECDH-ES+A256KW", "A256CBC-HS512", "EC"},
	}
	s := newTestServer(t, Config{})
	for _, tt := range tests {
		t.Run(tt.alg+" "+tt.enc, func(t *testing.T) {
			priv := decryptionKey(t, tt.key)
			id := "enc-" + tt.alg + "-" + tt.enc
			s.AddClient(Client{ID: id, Secret: "x", IDTokenEncryption: &Encryption{
				Alg: tt.alg, Enc: tt.enc,
				Key: &jose.JSONWebKey{Key: priv.Public(), KeyID: "enc-1", Use: "enc"},
			}})
			f := newFlowFor(s, id)
			f.auth = basicAuth(id, "x")
			tokens := f.tokens(t)
			for _, raw := range []string{tokens["id_token"].(string), refreshAs(t, s, id, tokens)["id_token"].(string)} {
				// What a relying party does: decrypt with its key, then
				// verify the nested JWS.
				jwe, err := jose.ParseEncryptedCompact(raw,
					[]jose.KeyAlgorithm{jose.KeyAlgorithm(tt.alg)}, []jose.ContentEncryption{jose.ContentEncryption(tt.enc)})
				if err != nil {
					t.Fatalf("not a JWE: %v", err)
				}
				wantEqual(t, "cty", jwe.Header.ExtraHeaders[jose.HeaderContentType], "JWT")
				wantEqual(t, "kid", jwe.Header.KeyID, "enc-1")
				inner, err := jwe.Decrypt(priv)
				if err != nil {
					t.Fatalf("decrypt: %v", err)
				}
				c := mustVerify(t, s, string(inner))
				wantEqual(t, "aud", c["aud"], id)
				wantEqual(t, "sub", c["sub"], "alice")
			}
		})
	}
	_, doc := getJSON(t, s, discoveryPath, nil)
	for _, k := range []string{"id_token_encryption_alg_values_supported", "id_token_encryption_enc_values_supported"} {
		for _, tt := range tests {
			v := tt.alg
			if k == "id_token_encryption_enc_values_supported" {
				v = tt.enc
			}
			if !slices.Contains(strs(doc[k]), v) {
				t.Errorf("%s = %v, want %s", k, doc[k], v)
			}
		}
	}
	// Other clients still get signed ID tokens.
	mustVerify(t, s, newFlow(s).tokens(t)["id_token"].(string))
}

// refreshAs refreshes tokens for the client id with secret "x".
func refreshAs(t *testing.T, s *Server, id string, tokens map[string]any) map[string]any {
	t.Helper()
	status, _, body := postJSON(t, s, "/token", map[string][]string{
		"grant_type":    {"refresh_token"},
		"refresh_token": {tokens["refresh_token"].(string)},
	}, basicAuth(id, "x"))
	if status != http.StatusOK {
		t.Fatalf("refresh: %d %v", status, body)
	}
	return body
}
