package probes

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/target"
)

// This file holds the JWT half of the authentication probe: controls, forged-token
// variants, algorithm confusion and the weak-key check.

// testJWT runs the controls and the forged-token variants when the identity holds a JWT.
func (a *authRun) testJWT() {
	var guarded []authBaseline
	for _, b := range a.baselines {
		if b.guarded {
			guarded = append(guarded, b)
		}
	}
	if a.id == nil || len(guarded) == 0 {
		return
	}
	tok, ok := parseJWT(a.id.Token())
	if !ok {
		return
	}
	b0 := guarded[0]
	if _, has := tok.claims["exp"]; !has {
		a.findings = append(a.findings, a.s.NewFinding(RuleJWTNoExpiry, b0.op, b0.ex,
			finding.ConfidenceHigh, fmt.Sprintf("The token of %s has no exp claim", a.id.Name),
			"JWT header: "+jsonKeys(tok.header)+"\nJWT claims: "+jsonKeys(tok.claims),
			"The token used for this request carries no exp claim, so it never expires."))
	}

	// Control: a flipped signature must be refused, else nothing below means anything.
	a.noteForm("forged JWTs (a changed signature byte, alg=none in four spellings, " +
		"a stripped signature, an altered exp)")
	flipped := credentialHeaders(a.id, tok.flipSignature())
	ex, _ := a.s.Send(a.ctx, nil, b0.op.Method, b0.path, nil, flipped)
	if out, why := judgeAuth(ex, b0.ex); out == outAccepted {
		a.findings = append(a.findings, a.s.NewFinding(RuleJWTSignature, b0.op, ex,
			finding.ConfidenceHigh, "JWT signature not verified: a token with a changed signature byte is accepted",
			safeExcerpt(ex.Body, 300),
			"One byte of the token's signature was changed and the server still answered "+why+
				"; forged tokens are accepted, so the other JWT variants were skipped."))
		a.weakSecret(tok, b0)
		return
	}

	expired := cloneMap(tok.claims)
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	variants := []struct {
		name, tok string
		rule      Rule
	}{
		{"alg=none", tok.unsigned("none"), RuleJWTAlgNone},
		{"alg=None", tok.unsigned("None"), RuleJWTAlgNone},
		{"alg=NONE", tok.unsigned("NONE"), RuleJWTAlgNone},
		{"alg=nOnE", tok.unsigned("nOnE"), RuleJWTAlgNone},
		{"the signature stripped (trailing dot kept)", tok.stripped(true), RuleJWTStripped},
		{"the signature stripped (two segments)", tok.stripped(false), RuleJWTStripped},
		{"an expired exp and the original signature", tok.withClaims(expired), RuleJWTSignature},
	}
	if size := ecdsaSize(tok.alg()); size > 0 {
		// r = s = 0 passes broken ECDSA verifiers (CVE-2022-21449, Java 15-18).
		zero := tok.parts[0] + "." + tok.parts[1] + "." +
			base64.RawURLEncoding.EncodeToString(make([]byte, 2*size))
		variants = append(variants, struct {
			name, tok string
			rule      Rule
		}{"an all-zero ECDSA signature (CVE-2022-21449)", zero, RuleJWTSignature})
	}
	reported := map[string]bool{}
	for _, b := range guarded[:min(len(guarded), authMaxJWTOps)] {
		for _, v := range variants {
			if reported[v.rule.ID] || a.ctx.Err() != nil {
				continue
			}
			hdr := credentialHeaders(a.id, v.tok)
			ex, err := a.s.Send(a.ctx, nil, b.op.Method, b.path, nil, hdr)
			if err != nil && ex == nil {
				continue
			}
			out, why := judgeAuth(ex, b.ex)
			if out == outAccepted {
				reported[v.rule.ID] = true
				a.findings = append(a.findings, a.s.NewFinding(v.rule, b.op, ex,
					finding.ConfidenceHigh,
					fmt.Sprintf("%s %s accepts a JWT with %s", b.op.Method, b.op.Path, v.name),
					safeExcerpt(ex.Body, 300),
					fmt.Sprintf("The identity's token was re-sent with %s; the server answered %s.", v.name, why)))
			} else if out == outInconclusive {
				a.unclear = append(a.unclear, fmt.Sprintf("%s %s with a JWT with %s: %s",
					b.op.Method, b.op.Path, v.name, why))
			}
		}
	}
	a.algConfusion(tok, b0)
	a.weakSecret(tok, b0)
}

// forgedJWTLifetime is how long a token minted with a guessed key stays valid: long enough
// to run the reproduce line after reading the report, short enough that a published report
// does not hand out a lasting credential for the identity.
const forgedJWTLifetime = time.Hour

// jwksPaths are where APIs publish their token-verification keys.
var jwksPaths = []string{"/.well-known/jwks.json", "/jwks.json", "/.well-known/jwks",
	"/oauth/jwks", "/auth/jwks.json"}

// algConfusion re-signs the claims as HS256 with the server's published RSA key as the
// HMAC secret (CVE-2015-9235 and its kin). It runs only for RS/PS tokens with a JWK set.
func (a *authRun) algConfusion(tok *jwt, b authBaseline) {
	if !strings.HasPrefix(tok.alg(), "RS") && !strings.HasPrefix(tok.alg(), "PS") {
		return
	}
	var keys [][]byte
	for _, p := range jwksPaths {
		ex, err := a.s.Send(a.ctx, nil, http.MethodGet, p, nil, nil)
		if err == nil && Is2xx(ex.Status) {
			if keys = jwksPEMs(ex.Body); len(keys) > 0 {
				break
			}
		}
	}
	if len(keys) == 0 {
		return
	}
	a.noteForm("HS256 tokens signed with the published RSA key")
	for _, k := range keys {
		if a.ctx.Err() != nil {
			return
		}
		forged := signWithHMACKey(tok.header, tok.claims, k)
		ex, _ := a.s.Send(a.ctx, nil, b.op.Method, b.path, nil, credentialHeaders(a.id, forged))
		if out, why := judgeAuth(ex, b.ex); out == outAccepted {
			a.findings = append(a.findings, a.s.NewFinding(RuleJWTAlgConfusion, b.op, ex,
				finding.ConfidenceHigh,
				fmt.Sprintf("%s %s accepts an HS256 token keyed with the public RSA key",
					b.op.Method, b.op.Path),
				safeExcerpt(ex.Body, 300),
				fmt.Sprintf("The %s token's claims were signed with HS256 using the PEM of the key "+
					"the API publishes; the server answered %s.", tok.alg(), why)))
			return
		}
	}
}

// weakSecret guesses the HMAC key offline; when it is found it proves the key works by
// minting a token with changed claims, and checks expiry with a correctly signed expired one.
func (a *authRun) weakSecret(tok *jwt, b authBaseline) {
	secret, ok := tok.guessSecret(secretWords(a.appNames(tok)))
	if !ok {
		return
	}
	a.noteForm("JWTs minted with the guessed HMAC key")
	// The minted tokens are not redacted: they are the scanner's own work, carry only the
	// identity's claims, and are what makes the reproduce line runnable. The key stays
	// masked, and the identity's token is never shown.
	forged := cloneMap(tok.claims)
	forged["apigate"] = a.s.Canary
	forged["iat"] = time.Now().Unix()
	validity := ""
	if _, has := tok.claims["exp"]; has {
		until := time.Now().Add(forgedJWTLifetime)
		forged["exp"] = until.Unix()
		validity = fmt.Sprintf(", valid until %s", until.UTC().Format("15:04 MST"))
	}
	minted := tok.mint(forged, secret)
	ex, _ := a.s.Send(a.ctx, nil, b.op.Method, b.path, nil, credentialHeaders(a.id, minted))
	out, why := judgeAuth(ex, b.ex)
	conf, proof := finding.ConfidenceMedium, "the forged token was not accepted on "+b.op.Path+" ("+why+")"
	if out == outAccepted {
		conf, proof = finding.ConfidenceHigh, "a token minted with it, carrying an added claim, was accepted ("+why+")"
	}
	evidenceEx := ex
	if evidenceEx == nil || evidenceEx.Status == 0 {
		evidenceEx = b.ex
	}
	a.findings = append(a.findings, a.s.NewFinding(RuleJWTWeakSecret, b.op, evidenceEx, conf,
		fmt.Sprintf("Tokens are signed with a guessable %s key", tok.alg()),
		fmt.Sprintf("HMAC key: %s (%d characters)", jwtMaskSecret(secret), len(secret)),
		fmt.Sprintf("The signature of the identity's %s token verifies with a dictionary word; "+
			"%s. The reproduce line sends that token (%s's claims plus \"apigate\"%s).",
			tok.alg(), proof, a.id.Name, validity)))

	if out != outAccepted {
		return
	}
	expired := cloneMap(tok.claims)
	expired["iat"] = time.Now().Add(-2 * time.Hour).Unix()
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	old := tok.mint(expired, secret)
	ex, _ = a.s.Send(a.ctx, nil, b.op.Method, b.path, nil, credentialHeaders(a.id, old))
	if out, why := judgeAuth(ex, b.ex); out == outAccepted {
		a.findings = append(a.findings, a.s.NewFinding(RuleJWTExpired, b.op, ex,
			finding.ConfidenceHigh,
			fmt.Sprintf("%s %s accepts a correctly signed token that expired an hour ago",
				b.op.Method, b.op.Path),
			safeExcerpt(ex.Body, 300),
			"A token signed with the guessed key and exp one hour in the past was answered "+why+
				"; the reproduce line sends that token."))
	}
}

// appNames are words an HMAC key is often derived from: the issuer and audience of the
// token, the target's host name and the first segments of its paths.
func (a *authRun) appNames(tok *jwt) []string {
	var out []string
	for _, k := range []string{"iss", "aud"} {
		if v, ok := tok.claims[k].(string); ok {
			out = append(out, v)
		}
	}
	host := a.s.Target.Base.Hostname()
	out = append(out, host, strings.Split(host, ".")[0])
	seen := map[string]bool{}
	for _, op := range a.s.Target.Operations {
		seg := strings.Split(strings.Trim(op.Path, "/"), "/")[0]
		if seg != "" && !target.IsParam(seg) && !seen[seg] {
			seen[seg] = true
			out = append(out, seg)
		}
	}
	return out
}

// jsonKeys lists a map's keys, sorted, for evidence that must not show values.
func jsonKeys(m map[string]any) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return "{" + strings.Join(ks, ", ") + "}"
}

// ecdsaSize is the byte length of r (and s) in an ES* signature, 0 for other algorithms.
func ecdsaSize(alg string) int {
	switch alg {
	case "ES256":
		return 32
	case "ES384":
		return 48
	case "ES512":
		return 66
	}
	return 0
}
