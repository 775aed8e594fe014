package demo

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// authedHandler is a handler for a caller whose token was accepted.
type authedHandler func(w http.ResponseWriter, r *http.Request, u user)

// bearer extracts the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// authed requires a token before h runs.
func (a *app) authed(h authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if u, ok := a.authenticate(w, r); ok {
			h(w, r, u)
		}
	}
}

var errUnknownSubject = errors.New("unknown subject")

// authenticate checks the bearer token and answers 401 itself when it is refused. The
// hardened mode logs the refusal (never the token) and says how to authenticate in
// WWW-Authenticate; the vulnerable mode does neither.
func (a *app) authenticate(w http.ResponseWriter, r *http.Request) (user, bool) {
	var c claims
	err := errTokenMissing
	if tok, ok := bearer(r); ok {
		if a.hardened {
			c, err = verifyStrict(a.secret, tok, time.Now())
		} else {
			c, err = verifyVulnerable(tok)
		}
	}
	var u user
	if err == nil {
		id, ok := c.subject()
		if u, ok = a.store.userByID(id); !ok {
			err = errUnknownSubject
		}
	}
	if err == nil {
		return u, true
	}
	a.log.event(r, slog.LevelWarn, "authn_token_invalid", "request refused: no valid token",
		slog.String("reason", err.Error()))
	if a.hardened {
		challenge := `Bearer realm="apigate-demo"`
		if !errors.Is(err, errTokenMissing) {
			challenge += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
	}
	writeProblem(w, http.StatusUnauthorized, "Unauthorized", "A valid bearer token is required.")
	return user{}, false
}

// legacy wraps the /api/v1 handlers. The vulnerable mode forgot them: no authentication at
// all (h sees the zero user, meaning everyone), no deprecation signal. The hardened mode
// protects them like v2 and announces their deprecation and sunset on every response.
func (a *app) legacy(h authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !a.hardened {
			h(w, r, user{})
			return
		}
		a.deprecated(w)
		a.authed(h)(w, r)
	}
}

// deprecated sets the RFC 9745 Deprecation and RFC 8594 Sunset headers, hardened mode only.
func (a *app) deprecated(w http.ResponseWriter) {
	if !a.hardened {
		return
	}
	h := w.Header()
	h.Set("Deprecation", "@"+strconv.FormatInt(deprecatedSince.Unix(), 10))
	h.Set("Sunset", a.sunset.Format(http.TimeFormat))
	h.Add("Link", `<https://apigate.example.invalid/demo/deprecations>; rel="deprecation"; type="text/html"`)
}

// login exchanges a username and password for a token.
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	if !a.hardened {
		a.loginVulnerable(w, r)
		return
	}
	b, ok := a.decodeStrict(w, r, []string{"username", "password"}, nil)
	if !ok {
		return
	}
	username, present, err := b.str("username", 1, 64)
	if err == nil && !present {
		err = &fieldError{"username", "is required"}
	}
	if err != nil {
		a.invalidField(w, r, err)
		return
	}
	password, present, err := b.str("password", 1, 128)
	if err == nil && !present {
		err = &fieldError{"password", "is required"}
	}
	if err != nil {
		a.invalidField(w, r, err)
		return
	}

	key := strings.ToLower(username)
	if st := a.loginLimit.peek(key); st.exceeded {
		a.loginLimit.setHeaders(w.Header(), st, true)
		a.log.event(r, slog.LevelWarn, "authn_login_fail_max", "login refused: too many failures",
			slog.String("user", username))
		writeProblemExt(w, http.StatusTooManyRequests, "Too Many Requests",
			"Too many failed logins for this account; retry later.",
			"https://iana.org/assignments/http-problem-types#quota-exceeded",
			map[string]any{"violated-policies": []string{a.loginLimit.name}})
		return
	}
	u, found := a.store.userByName(username)
	hash := u.PasswordHash
	if !found {
		// Compare anyway, so that unknown and known usernames take the same time.
		hash = a.store.dummyHash
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil || !found {
		st := a.loginLimit.take(key)
		a.loginLimit.setHeaders(w.Header(), st, false)
		a.log.event(r, slog.LevelWarn, "authn_login_fail", "login failed",
			slog.String("user", username))
		writeProblem(w, http.StatusUnauthorized, "Unauthorized", "The username or password is wrong.")
		return
	}
	a.loginLimit.reset(key)
	a.log.event(r, slog.LevelInfo, "authn_login_success", "login succeeded",
		slog.String("user", username))
	a.issueToken(w, u)
}

// loginVulnerable is the flawed login: it logs the raw username (CR/LF included), limits
// failures per X-Forwarded-For value, which the client chooses, and logs no failure.
func (a *app) loginVulnerable(w http.ResponseWriter, r *http.Request) {
	m := decodeLoose(r)
	username := m["username"].(string)
	password := m["password"].(string)
	a.log.printf("login attempt user=%s", username)

	key := r.Header.Get("X-Forwarded-For")
	if key == "" {
		key = clientIP(r)
	}
	if st := a.loginLimit.peek(key); st.exceeded {
		w.Header().Set("Retry-After", strconv.Itoa(int(st.reset.Seconds())+1))
		writeProblem(w, http.StatusTooManyRequests, "Too Many Requests", "Too many failed logins.")
		return
	}
	u, found := a.store.userByName(username)
	if !found || bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		a.loginLimit.take(key)
		a.log.event(r, slog.LevelWarn, "authn_login_fail", "login failed")
		writeProblem(w, http.StatusUnauthorized, "Unauthorized", "The username or password is wrong.")
		return
	}
	a.loginLimit.reset(key)
	a.log.event(r, slog.LevelInfo, "authn_login_success", "user "+username+" logged in")
	a.issueToken(w, u)
}

func (a *app) issueToken(w http.ResponseWriter, u user) {
	now := time.Now()
	tok := signToken(a.secret, claims{
		Sub: strconv.FormatInt(u.ID, 10), Name: u.Username, Role: u.Role,
		Iat: now.Unix(), Exp: now.Add(tokenTTL).Unix(),
	})
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok, "token_type": "Bearer", "expires_in": int(tokenTTL.Seconds()),
	})
}

var usernamePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,32}$`)

// signup creates a plain user, so that scanners can provision fresh accounts.
func (a *app) signup(w http.ResponseWriter, r *http.Request) {
	if !a.hardened {
		a.signupVulnerable(w, r)
		return
	}
	b, ok := a.decodeStrict(w, r, []string{"username", "password", "email"}, nil)
	if !ok {
		return
	}
	username, _, err := b.str("username", 3, 32)
	if err == nil && !usernamePattern.MatchString(username) {
		err = &fieldError{"username", "must be 3 to 32 letters, digits, '_', '.' or '-'"}
	}
	if err != nil {
		a.invalidField(w, r, err)
		return
	}
	password, _, err := b.str("password", 8, 72)
	if err == nil && len(password) > 72 {
		err = &fieldError{"password", "must be at most 72 bytes long"}
	}
	if err == nil && len(password) < 8 {
		err = &fieldError{"password", "must be 8 to 72 characters long"}
	}
	if err != nil {
		a.invalidField(w, r, err)
		return
	}
	email, _, err := b.str("email", 3, 254)
	if err == nil && !validEmail(email) {
		err = &fieldError{"email", "must be an e-mail address"}
	}
	if err != nil {
		a.invalidField(w, r, err)
		return
	}
	u, err := a.store.addUser(username, password, email, "user")
	if errors.Is(err, errUserExists) {
		writeProblem(w, http.StatusConflict, "Conflict", "This username is taken.")
		return
	}
	if err != nil {
		panic(err)
	}
	a.log.event(r, slog.LevelInfo, "user_created", "user created", slog.String("user", username))
	w.Header().Set("Location", "/api/me")
	writeJSON(w, http.StatusCreated, a.userView(u))
}

func validEmail(s string) bool {
	addr, err := mail.ParseAddress(s)
	return err == nil && addr.Address == s && addr.Name == ""
}

// signupVulnerable trusts the body: any type error panics, and a "role" or "is_admin"
// property is stored, so anyone can sign up as an admin.
func (a *app) signupVulnerable(w http.ResponseWriter, r *http.Request) {
	m := decodeLoose(r)
	username := m["username"].(string)
	password := m["password"].(string)
	email, _ := m["email"].(string)
	role := "user"
	if v, ok := m["role"]; ok {
		role = v.(string)
	}
	u, err := a.store.addUser(username, password, email, role)
	if errors.Is(err, errUserExists) {
		writeProblem(w, http.StatusConflict, "Conflict", "This username is taken.")
		return
	}
	if err != nil {
		panic(fmt.Errorf("create user: %w", err))
	}
	if v, ok := m["is_admin"]; ok {
		u, _ = a.store.update(u.ID, func(x *user) { x.IsAdmin = v.(bool) })
	}
	a.log.event(r, slog.LevelInfo, "user_created", "new user "+username)
	writeJSON(w, http.StatusCreated, a.userView(u))
}
