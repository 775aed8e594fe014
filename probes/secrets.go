package probes

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
)

// exposureKind names what a sensitive value is; each kind maps to one rule.
type exposureKind int

const (
	kindPassword exposureKind = iota + 1
	kindHash
	kindSecret
	kindToken
	kindCard
	kindPII
	kindJWTClaims
)

// exposureHit is one sensitive value found in a JSON body.
type exposureHit struct {
	Kind exposureKind
	// Path is where the value sits ("users[0].password_hash"); Key its own key.
	Path, Key string
	// What says what was recognised ("bcrypt hash", "AWS access key ID").
	What string
	// Shown is a masked rendering of the value, safe for reports.
	Shown string
	// Strong is set when the value's shape alone proves the kind (a bcrypt hash, a PEM
	// key), as opposed to a key name with a plausible value.
	Strong bool
}

// scanOptions tells the scanner what the response may legitimately contain.
type scanOptions struct {
	// TokenIssuing allows bearer tokens (login, token, refresh, session responses).
	TokenIssuing bool
	// Own are values the scanner itself sent (its credentials, its request body): finding
	// them is an echo, not a disclosure.
	Own []string
}

var (
	reBcrypt   = regexp.MustCompile(`^\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}$`)
	reArgon2   = regexp.MustCompile(`^\$argon2(id|i|d)\$(v=\d+\$)?m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$`)
	reCrypt    = regexp.MustCompile(`^\$(1|5|6)\$(rounds=\d+\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{22,86}$`)
	reNTLM     = regexp.MustCompile(`^\$NT\$[0-9a-fA-F]{32}$`)
	rePBKDF2   = regexp.MustCompile(`^pbkdf2_sha(1|256|512)\$\d+\$[^$]+\$[A-Za-z0-9+/=]+$`)
	reScrypt   = regexp.MustCompile(`^(\$scrypt\$|\$7\$)[^\s]{20,}$`)
	reHex      = regexp.MustCompile(`^[0-9a-fA-F]{32,128}$`)
	rePEM      = regexp.MustCompile(`-----BEGIN ((RSA|EC|DSA|OPENSSH|ENCRYPTED) )?PRIVATE KEY-----|-----BEGIN PGP PRIVATE KEY BLOCK-----`)
	reAWSID    = regexp.MustCompile(`\b(AKIA|ASIA)[0-9A-Z]{16}\b`)
	reAWSKey   = regexp.MustCompile(`^[A-Za-z0-9/+=]{40}$`)
	reSSN      = regexp.MustCompile(`^\d{3}-\d{2}-\d{4}$`)
	reUUID     = regexp.MustCompile(`(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	tokenPrefs = []struct {
		re   *regexp.Regexp
		what string
	}{
		{regexp.MustCompile(`\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b`), "GitHub token"},
		{regexp.MustCompile(`\bgithub_pat_[A-Za-z0-9_]{22,}\b`), "GitHub fine-grained token"},
		{regexp.MustCompile(`\bxox[baprs]-[A-Za-z0-9-]{10,}\b`), "Slack token"},
		{regexp.MustCompile(`\b(sk|rk)_live_[A-Za-z0-9]{16,}\b`), "Stripe live key"},
		{regexp.MustCompile(`\bAIza[0-9A-Za-z_-]{35}\b`), "Google API key"},
	}
)

// Key families, compared after normKey (lowercase, no separators).
var (
	passwordKeys = set("password", "passwd", "pwd", "pass", "userpassword", "plainpassword",
		"currentpassword", "newpassword", "rawpassword", "passwordplain", "cleartextpassword")
	hashKeys = set("passwordhash", "hashedpassword", "passhash", "pwhash", "passworddigest",
		"encryptedpassword", "passwordsalt", "salt", "pwdhash", "passwdhash")
	secretKeys = set("secret", "clientsecret", "apisecret", "privatekey", "secretkey",
		"signingkey", "encryptionkey", "mfasecret", "totpsecret", "otpsecret", "twofactorsecret",
		"apikey", "xapikey", "awssecretaccesskey", "secretaccesskey", "recoverycodes",
		"backupcodes", "securityanswer", "webhooksecret", "jwtsecret", "dbpassword",
		"databasepassword", "connectionstring")
	bearerKeys = set("token", "accesstoken", "refreshtoken", "idtoken", "authtoken", "jwt",
		"sessionid", "sessiontoken", "bearertoken", "apitoken")
	oneTimeKeys = set("resettoken", "passwordresettoken", "verificationtoken", "confirmtoken",
		"confirmationtoken", "otp", "otpcode", "authcode", "authenticationcode", "pin",
		"magiclinktoken", "invitetoken")
	piiKeys = set("ssn", "socialsecuritynumber", "taxid", "nationalid", "cvv", "cvc", "cvv2",
		"iban", "accountnumber", "routingnumber", "cardnumber", "creditcard", "ccnumber", "pan")
	benignKeys = set("csrf", "csrftoken", "xsrftoken", "nextpagetoken", "pagetoken",
		"continuationtoken", "cursor", "nexttoken", "tokentype", "expiresin", "publickey",
		"tokenurl", "tokenendpoint", "key", "hashalgorithm", "etag")
)

func set(ks ...string) map[string]bool {
	m := make(map[string]bool, len(ks))
	for _, k := range ks {
		m[k] = true
	}
	return m
}

// scanJSON finds sensitive values in a JSON body. Non-JSON bodies give nothing: the probe
// only judges structured API answers, where a field name gives the value its meaning.
func scanJSON(body []byte, opt scanOptions) []exposureHit {
	var v any
	d := json.NewDecoder(strings.NewReader(string(body)))
	d.UseNumber()
	if d.Decode(&v) != nil {
		return nil
	}
	own := map[string]bool{}
	for _, o := range opt.Own {
		if len(o) >= 4 {
			own[o] = true
		}
	}
	var hits []exposureHit
	walkJSON("", v, func(path, key string, val any) {
		if h, ok := classify(key, val, opt, own); ok {
			h.Path, h.Key = path, key
			hits = append(hits, h)
		}
	})
	return hits
}

// classify judges one scalar by its shape first and its key second.
func classify(key string, val any, opt scanOptions, own map[string]bool) (exposureHit, bool) {
	nk := normKey(key)
	if n, ok := val.(json.Number); ok {
		if (strings.Contains(nk, "card") || nk == "pan" || strings.HasPrefix(nk, "cc")) &&
			isCardNumber(n.String()) {
			return mkHit(kindCard, "payment card number", maskCard(n.String()), true), true
		}
		return exposureHit{}, false
	}
	s, ok := val.(string)
	if !ok || strings.TrimSpace(s) == "" || masked(s) {
		return exposureHit{}, false
	}
	if own[s] {
		// The caller's own credential: a token echoed back is expected, but its own
		// password served by the API proves the password is stored readable.
		if passwordKeys[nk] {
			return mkHit(kindPassword, "the caller's own password in clear text", maskAll(s),
				true), true
		}
		return exposureHit{}, false
	}
	if rePEM.MatchString(s) {
		return mkHit(kindSecret, "PEM private key", maskPrefix(s, 31), true), true
	}
	if what := hashKind(s); what != "" {
		return mkHit(kindHash, what, maskPrefix(s, 7), true), true
	}
	if j, isJWT := parseJWT(s); isJWT {
		if bad := sensitiveClaims(j); bad != "" {
			return exposureHit{Kind: kindJWTClaims, What: "JWT whose payload carries " + bad,
				Shown: maskPrefix(s, 10), Strong: true}, true
		}
		if opt.TokenIssuing {
			return exposureHit{}, false
		}
		return mkHit(kindToken, "JWT ("+j.alg()+")", maskPrefix(s, 10), true), true
	}
	if m := reAWSID.FindString(s); m != "" && (strings.Contains(nk, "aws") ||
		strings.Contains(nk, "access") || strings.Contains(nk, "key")) {
		return mkHit(kindSecret, "AWS access key ID", maskPrefix(m, 4), true), true
	}
	for _, tp := range tokenPrefs {
		if m := tp.re.FindString(s); m != "" {
			return mkHit(kindSecret, tp.what, maskPrefix(m, 4), true), true
		}
	}
	if c := findCard(s); c != "" {
		return mkHit(kindCard, "payment card number", maskCard(c), piiKeys[nk]), true
	}
	if benignKeys[nk] || strings.HasPrefix(nk, "has") || strings.HasPrefix(nk, "is") {
		return exposureHit{}, false
	}
	switch {
	case passwordKeys[nk] || strings.HasSuffix(nk, "password") && !strings.Contains(nk, "hash"):
		return mkHit(kindPassword, "password in clear text", maskAll(s), false), true
	case hashKeys[nk] || strings.Contains(nk, "password") && strings.Contains(nk, "hash"):
		if reHex.MatchString(s) || len(s) >= 16 {
			return mkHit(kindHash, "password hash or salt", maskPrefix(s, 4), false), true
		}
	case strings.Contains(nk, "aws") && strings.Contains(nk, "secret") && reAWSKey.MatchString(s):
		return mkHit(kindSecret, "AWS secret access key", maskAll(s), true), true
	case secretKeys[nk]:
		return mkHit(kindSecret, "secret in field "+key, maskAll(s), false), true
	case oneTimeKeys[nk]:
		return mkHit(kindToken, "one-time secret in field "+key, maskAll(s), false), true
	case bearerKeys[nk] && !opt.TokenIssuing && len(s) >= 16:
		return mkHit(kindToken, "token in field "+key, maskPrefix(s, 4), false), true
	case nk == "ssn" || nk == "socialsecuritynumber":
		if reSSN.MatchString(s) {
			return mkHit(kindPII, "social security number", "***-**-"+s[len(s)-4:], true), true
		}
	case piiKeys[nk] && nk != "cardnumber" && nk != "creditcard" && nk != "ccnumber" && nk != "pan":
		return mkHit(kindPII, "sensitive personal data in field "+key, maskAll(s), false), true
	}
	return exposureHit{}, false
}

// mkHit builds a hit; strong says the value's shape alone proves its kind.
func mkHit(k exposureKind, what, shown string, strong bool) exposureHit {
	return exposureHit{Kind: k, What: what, Shown: shown, Strong: strong}
}

// hashKind names the password-hash format of s, "" when s is none.
func hashKind(s string) string {
	switch {
	case reBcrypt.MatchString(s):
		return "bcrypt hash"
	case reArgon2.MatchString(s):
		return "argon2 hash"
	case reCrypt.MatchString(s):
		return "Unix crypt hash"
	case reNTLM.MatchString(s):
		return "NTLM hash"
	case rePBKDF2.MatchString(s):
		return "PBKDF2 hash"
	case reScrypt.MatchString(s):
		return "scrypt hash"
	}
	return ""
}

// sensitiveClaims names a claim of the token that should never travel in a JWT payload,
// which anyone holding the token can read.
func sensitiveClaims(j *jwt) string {
	for k, v := range j.claims {
		nk := normKey(k)
		s, _ := v.(string)
		if s == "" {
			continue
		}
		if passwordKeys[nk] || hashKeys[nk] || secretKeys[nk] || hashKind(s) != "" ||
			nk == "ssn" || nk == "cardnumber" {
			return "a " + k + " claim"
		}
	}
	return ""
}

// masked reports values already hidden by the API: "****", "xxxx1234", "••••".
func masked(s string) bool {
	t := strings.ToLower(s)
	return strings.Contains(t, "***") || strings.Contains(t, "xxxx") || strings.Contains(t, "•") ||
		strings.Trim(t, "*x•#. -") == "" || t == "redacted" || t == "[redacted]" || t == "hidden"
}

// findCard returns a payment card number in s, with brand prefix and Luhn check, standing
// alone: digits inside a UUID, an identifier or a decimal number are not cards.
func findCard(s string) string {
	if reUUID.MatchString(s) {
		s = reUUID.ReplaceAllString(s, " ")
	}
	isSep := func(r byte) bool { return r == ' ' || r == '-' }
	isDigit := func(r byte) bool { return r >= '0' && r <= '9' }
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && (isDigit(s[j]) || isSep(s[j]) && j+1 < len(s) && isDigit(s[j+1])) {
			j++
		}
		before, after := byte(' '), byte(' ')
		if i > 0 {
			before = s[i-1]
		}
		if j < len(s) {
			after = s[j]
		}
		run := s[i:j]
		i = j
		if glued(before) || glued(after) {
			continue
		}
		// A dash joining the run to letters or digits makes it part of an identifier.
		if before == '-' && i-len(run) >= 2 && glued(s[i-len(run)-2]) ||
			after == '-' && j+1 < len(s) && glued(s[j+1]) {
			continue
		}
		digits := strings.NewReplacer(" ", "", "-", "").Replace(run)
		if isCardNumber(digits) {
			return digits
		}
	}
	return ""
}

// glued reports characters that make a digit run part of a larger token (an identifier, a
// decimal number, a hex string).
func glued(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '_' || c == ',' ||
		c == '/' || c == ':' || c == '+' || c >= '0' && c <= '9'
}

// isCardNumber checks length, brand prefix and the Luhn digit.
func isCardNumber(d string) bool {
	if len(d) < 13 || len(d) > 19 || strings.Trim(d, "0123456789") != "" {
		return false
	}
	if strings.Count(d, d[:1]) == len(d) {
		return false // 0000..., 4444...: placeholders
	}
	return cardBrand(d) != "" && luhn(d)
}

// cardBrand recognises the issuer prefixes and lengths of the common brands.
func cardBrand(d string) string {
	n := len(d)
	p2, _ := strconv.Atoi(d[:2])
	p4, _ := strconv.Atoi(d[:4])
	p6, _ := strconv.Atoi(d[:6])
	switch {
	case d[0] == '4' && (n == 13 || n == 16 || n == 19):
		return "Visa"
	case (p2 >= 51 && p2 <= 55 || p4 >= 2221 && p4 <= 2720) && n == 16:
		return "Mastercard"
	case (p2 == 34 || p2 == 37) && n == 15:
		return "American Express"
	case (p4 == 6011 || p2 == 65 || p6 >= 622126 && p6 <= 622925 || p4/10 >= 644 &&
		p4/10 <= 649) && n >= 16:
		return "Discover"
	case p4 >= 3528 && p4 <= 3589 && n >= 16:
		return "JCB"
	case (p2 == 36 || p2 == 38 || p4/10 >= 300 && p4/10 <= 305) && n >= 14:
		return "Diners Club"
	case (p4 == 5018 || p4 == 5020 || p4 == 5038 || p4 == 5893 || p4 == 6304 || p4 == 6759 ||
		p4 == 6761 || p4 == 6762 || p4 == 6763) && n >= 12:
		return "Maestro"
	}
	return ""
}

func luhn(d string) bool {
	sum, double := 0, false
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if double {
			if n *= 2; n > 9 {
				n -= 9
			}
		}
		sum += n
		double = !double
	}
	return sum%10 == 0
}

func maskCard(d string) string {
	if len(d) < 8 {
		return maskAll(d)
	}
	return d[:4] + strings.Repeat("*", len(d)-8) + d[len(d)-4:]
}

// maskPrefix keeps the first n bytes (a format prefix such as "$2b$12$") and hides the rest.
func maskPrefix(s string, n int) string {
	if len(s) <= n+4 {
		return maskAll(s)
	}
	return s[:n] + "…(" + strconv.Itoa(len(s)) + " characters)"
}

func maskAll(s string) string {
	return "(" + strconv.Itoa(len(s)) + " characters, hidden)"
}

// safeExcerpt renders a response body for evidence with every value the exposure scanner
// recognises masked, so that findings of other checks do not repeat the target's secrets
// (a password hash that happens to be in the object, an API key). Non-JSON stays as it is.
func safeExcerpt(body []byte, n int) string {
	d := json.NewDecoder(strings.NewReader(string(body)))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return Truncate(string(body), n)
	}
	v = maskTree("", v)
	b, err := json.Marshal(v)
	if err != nil {
		return Truncate(string(body), n)
	}
	return Truncate(string(b), n)
}

func maskTree(key string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = maskTree(k, e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = maskTree(key, e)
		}
		return x
	}
	if h, ok := classify(key, v, scanOptions{}, nil); ok {
		return h.Shown
	}
	return v
}

// Unanchored forms of the strongest patterns, for bodies that are not JSON (CSV exports,
// plain text): without field names only values whose shape proves their kind count.
var (
	reBcryptIn = regexp.MustCompile(`\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}`)
	reArgon2In = regexp.MustCompile(`\$argon2(id|i|d)\$(v=\d+\$)?m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+`)
	reJWTIn    = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*`)
)

// scanText finds sensitive values in a non-JSON body by shape alone.
func scanText(body []byte, opt scanOptions) []exposureHit {
	s := string(body)
	own := map[string]bool{}
	for _, o := range opt.Own {
		own[o] = true
	}
	var hits []exposureHit
	add := func(h exposureHit, val string) {
		if !own[val] {
			h.Path, h.Strong = "body", true
			hits = append(hits, h)
		}
	}
	for _, m := range reBcryptIn.FindAllString(s, 5) {
		add(exposureHit{Kind: kindHash, What: "bcrypt hash", Shown: maskPrefix(m, 7)}, m)
	}
	for _, m := range reArgon2In.FindAllString(s, 5) {
		add(exposureHit{Kind: kindHash, What: "argon2 hash", Shown: maskPrefix(m, 10)}, m)
	}
	if m := rePEM.FindString(s); m != "" {
		add(exposureHit{Kind: kindSecret, What: "PEM private key", Shown: m}, m)
	}
	for _, tp := range tokenPrefs {
		for _, m := range tp.re.FindAllString(s, 5) {
			add(exposureHit{Kind: kindSecret, What: tp.what, Shown: maskPrefix(m, 4)}, m)
		}
	}
	if !opt.TokenIssuing {
		for _, m := range reJWTIn.FindAllString(s, 5) {
			if j, ok := parseJWT(m); ok {
				add(exposureHit{Kind: kindToken, What: "JWT (" + j.alg() + ")",
					Shown: maskPrefix(m, 10)}, m)
			}
		}
	}
	return hits
}
