package hostile

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// Echo is the leakiest API imaginable: it reflects every credential it receives (the
// Authorization header, cookies, the query string and the request body) back in response
// headers, in JSON bodies, URL-encoded and base64-encoded, and in a stack-trace error page
// for anything under /error. A scanner that prints what targets say must redact all of it.
//
// POST .../login answers {"token": EchoToken(password), "password": password}, so a login
// flow's password and the token it earns are both echoed.
func Echo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		creds := collect(r, body)
		joined := strings.Join(creds, " ")

		w.Header().Set("X-Echo-Authorization", r.Header.Get("Authorization"))
		w.Header().Set("X-Echo-Cookie", r.Header.Get("Cookie"))
		w.Header().Set("X-Echo-B64", base64.StdEncoding.EncodeToString([]byte(joined)))
		w.Header().Add("Set-Cookie", "echo="+url.QueryEscape(joined)+"; Path=/")
		w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		w.Header().Set("Access-Control-Allow-Credentials", "true")
		w.Header().Set("Server", "echo/1.0 "+joined)

		if strings.HasPrefix(r.URL.Path, "/error") || r.Method == http.MethodDelete {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, "<h1>Traceback (most recent call last)</h1><pre>\n"+
				"  File \"app.py\", line 42, in handler\n    check("+joined+")\n"+
				"psycopg2.errors.SyntaxError: syntax error at or near \""+joined+"\"\n"+
				"LINE 1: SELECT * FROM users WHERE token = '"+url.QueryEscape(joined)+
				"'\n</pre>")
			return
		}

		out := map[string]any{
			"received":   creds,
			"urlencoded": url.QueryEscape(joined),
			"base64":     base64.StdEncoding.EncodeToString([]byte(joined)),
			"password":   joined,
			"secret":     joined,
			"id":         1,
			"owner_id":   1,
			"role":       "admin",
		}
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/login") {
			var login map[string]any
			_ = json.Unmarshal(body, &login)
			if p, ok := login["password"].(string); ok {
				out = map[string]any{"token": EchoToken(p), "password": p, "echo": joined}
			}
		}
		w.Header().Set("Content-Type", "application/json")
		if strings.HasPrefix(r.URL.Path, "/api/") && !strings.HasSuffix(r.URL.Path, "/login") &&
			r.Header.Get("Authorization") == "" && r.Header.Get("X-Api-Key") == "" {
			w.WriteHeader(http.StatusUnauthorized)
		}
		_ = json.NewEncoder(w).Encode(out)
	})
}

// collect gathers every value a client could have put a credential in.
func collect(r *http.Request, body []byte) []string {
	var out []string
	for _, name := range []string{"Authorization", "Cookie", "X-Api-Key", "X-Auth-Token"} {
		if v := r.Header.Get(name); v != "" {
			out = append(out, v)
		}
	}
	for k, vs := range r.URL.Query() {
		for _, v := range vs {
			out = append(out, k+"="+v)
		}
	}
	if len(body) > 0 {
		out = append(out, string(body))
	}
	sort.Strings(out)
	return out
}

// EchoToken is the token Echo issues for a login with password: a secret apigate only
// learns by logging in.
func EchoToken(password string) string {
	sum := sha256.Sum256([]byte("echo-token:" + password))
	return "issued-" + hex.EncodeToString(sum[:12])
}
