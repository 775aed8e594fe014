package probes

import (
	"bytes"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"hash"
	"math/big"
	"strings"
)

// jwt is a decoded JSON Web Token in compact form. Claims are kept as decoded JSON so a
// re-encoded token carries the same values, numbers included.
type jwt struct {
	parts  [3]string
	header map[string]any
	claims map[string]any
}

// parseJWT decodes a compact JWS. It requires a JSON header with an "alg", which rules out
// dotted strings that merely look like tokens.
func parseJWT(s string) (*jwt, bool) {
	p := strings.Split(strings.TrimSpace(s), ".")
	if len(p) != 3 || !strings.HasPrefix(p[0], "eyJ") {
		return nil, false
	}
	t := &jwt{parts: [3]string{p[0], p[1], p[2]}}
	if !decodeSegment(p[0], &t.header) || !decodeSegment(p[1], &t.claims) {
		return nil, false
	}
	if alg, ok := t.header["alg"].(string); !ok || alg == "" {
		return nil, false
	}
	return t, true
}

func decodeSegment(seg string, into *map[string]any) bool {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return false
	}
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	return d.Decode(into) == nil && *into != nil
}

func encodeSegment(v map[string]any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// alg is the header's algorithm.
func (t *jwt) alg() string { s, _ := t.header["alg"].(string); return s }

// raw is the token as it was parsed.
func (t *jwt) raw() string { return strings.Join(t.parts[:], ".") }

// flipSignature changes one byte of the signature: a server that verifies signatures must
// refuse the result.
func (t *jwt) flipSignature() string {
	sig, err := base64.RawURLEncoding.DecodeString(t.parts[2])
	if err != nil || len(sig) == 0 {
		// Not decodable: change one character instead.
		s := []byte(t.parts[2] + "A")
		s[0] ^= 1
		return t.parts[0] + "." + t.parts[1] + "." + string(s)
	}
	sig[len(sig)/2] ^= 0x01
	return t.parts[0] + "." + t.parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// unsigned returns the token with its header's alg set to alg (e.g. "none", "nOnE") and an
// empty signature, ending with a dot as RFC 7519 writes unsecured tokens.
func (t *jwt) unsigned(alg string) string {
	h := cloneMap(t.header)
	h["alg"] = alg
	return encodeSegment(h) + "." + t.parts[1] + "."
}

// stripped returns the original header and payload with no signature; with dot false the
// trailing dot is dropped too, leaving two segments.
func (t *jwt) stripped(dot bool) string {
	if dot {
		return t.parts[0] + "." + t.parts[1] + "."
	}
	return t.parts[0] + "." + t.parts[1]
}

// withClaims returns the token with its payload replaced and the original signature kept,
// which only a server that does not verify signatures accepts.
func (t *jwt) withClaims(claims map[string]any) string {
	return t.parts[0] + "." + encodeSegment(claims) + "." + t.parts[2]
}

// hmacFor returns the hash for an HS* algorithm, nil for any other.
func hmacFor(alg string) func() hash.Hash {
	switch alg {
	case "HS256":
		return sha256.New
	case "HS384":
		return sha512.New384
	case "HS512":
		return sha512.New
	}
	return nil
}

// guessSecret tries each word as the HMAC key of an HS* token and returns the one whose
// signature matches. The check is offline: nothing is sent.
func (t *jwt) guessSecret(words []string) (string, bool) {
	h := hmacFor(t.alg())
	if h == nil {
		return "", false
	}
	sig, err := base64.RawURLEncoding.DecodeString(t.parts[2])
	if err != nil {
		return "", false
	}
	input := []byte(t.parts[0] + "." + t.parts[1])
	for _, w := range words {
		m := hmac.New(h, []byte(w))
		m.Write(input)
		if hmac.Equal(m.Sum(nil), sig) {
			return w, true
		}
	}
	return "", false
}

// mint signs claims with the token's own header and an HMAC key.
func (t *jwt) mint(claims map[string]any, secret string) string {
	input := t.parts[0] + "." + encodeSegment(claims)
	m := hmac.New(hmacFor(t.alg()), []byte(secret))
	m.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// weakSecrets are HMAC keys seen in tutorials, defaults and quick starts. App-specific
// words (the host, path prefixes, the issuer) are added at run time.
var weakSecrets = []string{
	"", "secret", "changeme", "change-me", "changeit", "password", "passw0rd", "key",
	"jwt", "jwt-secret", "jwt_secret", "jwtsecret", "secretkey", "secret-key", "secret_key",
	"supersecret", "super-secret", "mysecret", "my-secret", "my_secret", "s3cr3t", "test",
	"testing", "dev", "development", "default", "admin", "123456", "12345678", "qwerty",
	"token", "auth", "private", "shhhhh", "keyboard cat", "notasecret", "your-256-bit-secret",
	"your_jwt_secret", "your-secret-key", "secret123", "topsecret", "hmac-secret",
}

// secretWords extends the dictionary with words derived from an application name.
func secretWords(names []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(w string) {
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	for _, w := range weakSecrets {
		add(w)
	}
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" || len(n) > 64 {
			continue
		}
		for _, suffix := range []string{"", "-secret", "_secret", "secret", "-key", "_key",
			"-jwt-secret", "-jwt", "_jwt_secret", "-dev", "-dev-secret", "123"} {
			add(n + suffix)
		}
	}
	return out
}

// jwtMaskSecret shows enough of a guessed key for a reader to recognise it without printing
// the whole key.
func jwtMaskSecret(s string) string {
	if s == "" {
		return `"" (the empty string)`
	}
	if len(s) <= 3 {
		return strings.Repeat("*", len(s))
	}
	return s[:2] + strings.Repeat("*", len(s)-2)
}

// signWithHMACKey builds an HS256 token from header fields and claims with key as the HMAC
// secret, whatever algorithm the original token used.
func signWithHMACKey(header, claims map[string]any, key []byte) string {
	h := cloneMap(header)
	h["alg"] = "HS256"
	input := encodeSegment(h) + "." + encodeSegment(claims)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// jwksPEMs turns the RSA keys of a JWK set into the PEM forms a confused verifier may use
// as an HMAC secret: SubjectPublicKeyInfo and PKCS #1, each with and without the final
// newline.
func jwksPEMs(body []byte) [][]byte {
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			N   string `json:"n"`
			E   string `json:"e"`
		} `json:"keys"`
	}
	if json.Unmarshal(body, &set) != nil {
		return nil
	}
	var out [][]byte
	for _, k := range set.Keys {
		if k.Kty != "RSA" {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(strings.TrimRight(k.N, "="))
		e, err2 := base64.RawURLEncoding.DecodeString(strings.TrimRight(k.E, "="))
		if err1 != nil || err2 != nil || len(e) > 4 {
			continue
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		spki, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			continue
		}
		for _, block := range []*pem.Block{
			{Type: "PUBLIC KEY", Bytes: spki},
			{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(pub)},
		} {
			p := pem.EncodeToMemory(block)
			out = append(out, p, bytes.TrimRight(p, "\n"))
		}
	}
	return out
}
