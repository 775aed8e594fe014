package probes

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// FuzzJWT feeds arbitrary strings to the JWT reader and, for those it accepts, checks every
// forgery the authentication probe derives: no panic, and each forgery says what it claims.
func FuzzJWT(f *testing.F) {
	f.Add("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwibmFtZSI6ImEifQ.c2ln")
	f.Add("eyJhbGciOiJub25lIn0.eyJ9.")
	f.Add("eyJhbGciOiJSUzI1NiJ9.e30.")
	f.Add("eyJ.eyJ.eyJ")
	f.Add(" eyJhbGciOiJIUzI1NiJ9.eyJuIjoxZTk5OTl9.AAAA== ")
	f.Fuzz(func(t *testing.T, s string) {
		tok, ok := parseJWT(s)
		if !ok {
			return
		}
		if tok.raw() != strings.TrimSpace(s) {
			t.Fatalf("raw %q differs from the input %q", tok.raw(), s)
		}
		if tok.flipSignature() == tok.raw() {
			t.Fatalf("flipped signature unchanged: %q", s)
		}
		none, ok := parseJWT(tok.unsigned("none"))
		if !ok || none.alg() != "none" || none.parts[2] != "" {
			t.Fatalf("unsigned token does not read back as alg none: %q", tok.unsigned("none"))
		}
		if strings.Count(tok.stripped(true), ".") != 2 || strings.Count(tok.stripped(false), ".") != 1 {
			t.Fatalf("stripped forms: %q %q", tok.stripped(true), tok.stripped(false))
		}
		forged, ok := parseJWT(tok.withClaims(map[string]any{"sub": "apigate"}))
		if !ok || forged.claims["sub"] != "apigate" || forged.parts[2] != tok.parts[2] {
			t.Fatalf("claims swap lost the claims or the signature: %q", s)
		}
		if _, ok := tok.guessSecret([]string{"secret"}); ok && hmacFor(tok.alg()) == nil {
			t.Fatalf("guessed a key for non-HMAC alg %q", tok.alg())
		}
	})
}

// FuzzClassifiers runs the response classifiers on arbitrary bodies: no panic, similarity
// within [0, 1] and symmetric, a body always identical to itself.
func FuzzClassifiers(f *testing.F) {
	f.Add([]byte(`{"id":1,"name":"a","updated_at":"x"}`), []byte(`{"id":1,"name":"b"}`))
	f.Add([]byte(`{"error":"forbidden"}`), []byte("<html>Access denied</html>"))
	f.Add([]byte(`[[[[[[[[[[1]]]]]]]]]]`), []byte(`{"a":{"b":{"c":[1,2,{"d":null}]}}}`))
	f.Add([]byte("\xff\xfe{\"k\":\"\xc3\x28\"}"), []byte(""))
	f.Add([]byte(`{"a":1e999}`), []byte(`{"":{"":[]}}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		_ = LooksLikeError(a)
		_ = EmptyBody(a)
		if fl := Flatten(a); fl != nil && !json.Valid(a) {
			t.Fatalf("Flatten read invalid JSON %q", a)
		}
		s, r := Similarity(a, b), Similarity(b, a)
		if math.IsNaN(s) || s < 0 || s > 1 {
			t.Fatalf("similarity %v out of range for %q, %q", s, a, b)
		}
		if math.Abs(s-r) > 1e-9 {
			t.Fatalf("similarity not symmetric: %v vs %v", s, r)
		}
		if self := Similarity(a, a); self != 1 {
			t.Fatalf("a body is %v similar to itself: %q", self, a)
		}
	})
}

// FuzzErrorSignatures runs every error signature on arbitrary bodies: no panic, and an
// excerpt is bounded by the window the matcher cuts around the first match.
func FuzzErrorSignatures(f *testing.F) {
	f.Add([]byte("Traceback (most recent call last):\n  File \"app.py\", line 1\nValueError: x"))
	f.Add([]byte(`{"error":"SQLSTATE[42000]: Syntax error near '\''"}`))
	f.Add([]byte("<b>Warning</b>: mysql_fetch_array() expects parameter 1 on line <b>3</b>"))
	f.Add([]byte("java.lang.NullPointerException\n\tat com.x.Y.z(Y.java:10)"))
	f.Add([]byte("&lt;pre&gt;Traceback&lt;/pre&gt;\xff"))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, hit := range matchSignatures(body) {
			if hit.Sig == nil {
				t.Fatal("hit without a signature")
			}
			if len(hit.Excerpt) > 60+300+len(body)*2 {
				t.Fatalf("excerpt of %d bytes from a %d-byte body", len(hit.Excerpt), len(body))
			}
		}
	})
}
