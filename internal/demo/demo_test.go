package demo

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// env is one running demo server and a client for it.
type env struct {
	t        *testing.T
	s        *Server
	c        *http.Client
	hardened bool
	tokens   map[string]string
}

func newEnv(t *testing.T, hardened bool) *env {
	t.Helper()
	s, err := Start(Options{Hardened: hardened})
	if err != nil {
		t.Fatalf("start demo: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close demo: %v", err)
		}
	})
	pool := x509.NewCertPool()
	if hardened && !pool.AppendCertsFromPEM(s.RootCAs()) {
		t.Fatal("the CA PEM holds no certificate")
	}
	c := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &env{t: t, s: s, c: c, hardened: hardened, tokens: map[string]string{}}
}

// do sends a request to the base URL. body is sent as is when it is a string, as JSON
// otherwise; hdr holds header name/value pairs.
func (e *env) do(method, path, token string, body any, hdr ...string) (*http.Response, []byte) {
	e.t.Helper()
	return e.doURL(method, e.s.BaseURL().String()+path, token, body, hdr...)
}

func (e *env) doURL(method, url, token string, body any, hdr ...string) (*http.Response, []byte) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp, data
}

// login returns a token for c, logging in once per env.
func (e *env) login(c Credential) string {
	e.t.Helper()
	if tok, ok := e.tokens[c.Username]; ok {
		return tok
	}
	resp, data := e.do("POST", LoginPath, "", map[string]string{
		"username": c.Username, "password": c.Password,
	})
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("login %s: %d %s", c.Username, resp.StatusCode, data)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(data, &tr); err != nil || tr.AccessToken == "" {
		e.t.Fatalf("login %s: bad token response %s", c.Username, data)
	}
	if tr.TokenType != "Bearer" || tr.ExpiresIn != 900 {
		e.t.Fatalf("login %s: token_type %q expires_in %d", c.Username, tr.TokenType, tr.ExpiresIn)
	}
	e.tokens[c.Username] = tr.AccessToken
	return tr.AccessToken
}

// jsonOf decodes a JSON object response, failing the test on anything else.
func (e *env) jsonOf(data []byte) map[string]any {
	e.t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		e.t.Fatalf("not a JSON object: %v: %s", err, data)
	}
	return m
}

// createOrder places an order as token and returns its id.
func (e *env) createOrder(token string) string {
	e.t.Helper()
	resp, data := e.do("POST", "/api/v2/orders", token,
		map[string]any{"item": "green tea", "quantity": 2, "note": "test"})
	if resp.StatusCode != http.StatusCreated {
		e.t.Fatalf("create order: %d %s", resp.StatusCode, data)
	}
	return jsonNumber(e.jsonOf(data)["id"])
}

func jsonNumber(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}

func modeName(hardened bool) string {
	if hardened {
		return "hardened"
	}
	return "vulnerable"
}
