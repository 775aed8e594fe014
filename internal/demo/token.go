package demo

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
)

// tokenTTL is how long an access token is valid (expires_in of the login response).
const tokenTTL = 15 * time.Minute

// weakSecret is the vulnerable mode's HMAC key: the first word any JWT cracker tries.
const weakSecret = "secret"

// claims is the payload of the demo's JWTs.
type claims struct {
	Sub  string `json:"sub"`
	Name string `json:"name"`
	Role string `json:"role"`
	Iat  int64  `json:"iat"`
	Exp  int64  `json:"exp,omitempty"`
}

var b64 = base64.RawURLEncoding

// signToken returns an HS256 JWT for c.
func signToken(secret []byte, c claims) string {
	h, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT"})
	p, _ := json.Marshal(c)
	unsigned := b64.EncodeToString(h) + "." + b64.EncodeToString(p)
	return unsigned + "." + b64.EncodeToString(mac(secret, unsigned))
}

func mac(secret []byte, unsigned string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(unsigned))
	return m.Sum(nil)
}

// Reasons a token is refused, logged by the hardened mode (never the token itself).
var (
	errTokenMissing   = errors.New("missing")
	errTokenMalformed = errors.New("malformed")
	errTokenAlg       = errors.New("unexpected algorithm")
	errTokenSignature = errors.New("bad signature")
	errTokenExpired   = errors.New("expired")
)

// verifyStrict is the hardened verification: exactly HS256, a valid signature under the
// server's random key, and an exp claim in the future.
func verifyStrict(secret []byte, tok string, now time.Time) (claims, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return claims{}, errTokenMalformed
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if err := decodeSegment(parts[0], &hdr); err != nil {
		return claims{}, errTokenMalformed
	}
	if hdr.Alg != "HS256" {
		return claims{}, errTokenAlg
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac(secret, parts[0]+"."+parts[1])) {
		return claims{}, errTokenSignature
	}
	var c claims
	if err := decodeSegment(parts[1], &c); err != nil {
		return claims{}, errTokenMalformed
	}
	if c.Exp == 0 || now.Unix() >= c.Exp {
		return claims{}, errTokenExpired
	}
	return c, nil
}

// verifyVulnerable is the broken verification of the vulnerable mode. It trusts the token's
// own header: alg "none" in any spelling, or a missing signature, skips the check; exp is
// never looked at. A present HS256 signature is checked, against the weak key.
func verifyVulnerable(tok string) (claims, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 2 && len(parts) != 3 {
		return claims{}, errTokenMalformed
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if err := decodeSegment(parts[0], &hdr); err != nil {
		return claims{}, errTokenMalformed
	}
	var c claims
	if err := decodeSegment(parts[1], &c); err != nil {
		return claims{}, errTokenMalformed
	}
	if strings.EqualFold(hdr.Alg, "none") || len(parts) == 2 || parts[2] == "" {
		return c, nil
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac([]byte(weakSecret), parts[0]+"."+parts[1])) {
		return claims{}, errTokenSignature
	}
	return c, nil
}

func decodeSegment(seg string, v any) error {
	raw, err := b64.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// subject parses the sub claim as a user id.
func (c claims) subject() (int64, bool) {
	id, err := strconv.ParseInt(c.Sub, 10, 64)
	return id, err == nil && id > 0
}
