package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

var env = map[string]string{"ALICE_PASSWORD": "pw-alice-1", "BOB_TOKEN": "tok-bob-1"}

func getenv(k string) (string, bool) { v, ok := env[k]; return v, ok }

func TestLoadFull(t *testing.T) {
	c, err := Load("testdata/full.yml", Options{Getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	if c.Target.Port != 8080 || c.Target.BasePath != "/api" || c.Target.Service != "api" {
		t.Errorf("target %+v", c.Target)
	}
	var names []string
	for _, id := range c.Identities {
		names = append(names, id.Name)
	}
	if strings.Join(names, ",") != "alice,bob,carol,dave,fresh,fresh2" {
		t.Fatalf("identities in wrong order: %v", names)
	}
	alice := c.Identities[0]
	if alice.Login.Body["password"] != "pw-alice-1" || alice.Login.Body["remember"] != true ||
		alice.Login.Body["tries"] != int64(3) || alice.Pos.Line != 10 {
		t.Errorf("alice %+v at %v", alice.Login, alice.Pos)
	}
	if c.Identities[1].Token != "tok-bob-1" || c.Identities[2].Header.Value != "key-${literal}" {
		t.Errorf("bob/carol: %q %q", c.Identities[1].Token, c.Identities[2].Header.Value)
	}
	if c.Identities[5].Signup == nil || c.Identities[5].Signup.Login.Cookie != "sid" {
		t.Errorf("alias did not carry the signup block")
	}
	if len(c.Endpoints) != 2 || c.Endpoints[1].Method != "DELETE" || c.Endpoints[1].Pos.Line != 30 {
		t.Errorf("endpoints %+v", c.Endpoints)
	}
	s := c.Suppress[0]
	if !s.Until.Equal(time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)) || s.Pos.Line != 33 || s.Pos.Column != 5 {
		t.Errorf("suppression %+v", s)
	}
	if !c.Probes.TLSTerminatedUpstream || c.Probes.LoginAttempts != 20 || c.FailOn != "medium" {
		t.Errorf("probes %+v fail-on %q", c.Probes, c.FailOn)
	}
	secrets := strings.Join(c.Secrets(), " ")
	for _, want := range []string{"pw-alice-1", "tok-bob-1", "key-${literal}"} {
		if !strings.Contains(secrets, want) {
			t.Errorf("secret %q not listed", want)
		}
	}
	specs := c.IdentitySpecs()
	if specs[0].Login.Token != "$.access_token" || specs[3].Credentials.Username != "dave" ||
		specs[4].Signup.Login.Cookie != "sid" {
		t.Errorf("specs %+v", specs)
	}
}

func TestParseErrors(t *testing.T) {
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for i, prev := 1, "a"; i < 8; i++ {
		name := fmt.Sprintf("a%d", i)
		bomb += fmt.Sprintf("%s: &%s [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]\n",
			name, name, prev, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = name
	}
	bomb = "public: &p [/a]\nidentities:\n  x:\n    login:\n      path: /l\n      body:\n        " +
		strings.ReplaceAll(strings.TrimSuffix(bomb, "\n"), "\n", "\n        ") + "\n"

	cases := []struct {
		name, in, want string
	}{
		{"unknown key", "target:\n  url: http://127.0.0.1:1\n  prot: 80\n",
			`c.yml:3:3: unknown key "prot" in target (known: url, compose, service, port, openapi, base-path)`},
		{"unknown top key", "identitees: {}\n",
			`c.yml:1:1: unknown key "identitees" in the top level (known: target, public, identities, endpoints, fail-on, suppress, baseline, probes, allow-hosts)`},
		{"wrong type int", "target:\n  port: eighty\n", `c.yml:2:9: target.port: want an integer, got "eighty"`},
		{"wrong type list", "public: /health\n", `c.yml:1:9: public: want a list, got "/health"`},
		{"wrong type bool", "probes:\n  tls-terminated-upstream: yes please\n",
			`c.yml:2:28: probes.tls-terminated-upstream: want true or false, got "yes please"`},
		{"mapping for string", "fail-on: {high: 1}\n", `c.yml:1:10: fail-on: want a string, got a mapping`},
		{"missing env", "identities:\n  bob:\n    token: ${BOB_TOKN}\n",
			`c.yml:3:12: identities.bob.token: environment variable BOB_TOKN is not set`},
		{"bad env name", "identities:\n  bob:\n    token: ${1X}\n",
			`c.yml:3:12: identities.bob.token: "1X" is not a variable name`},
		{"bad date", "suppress:\n  - rule: r\n    reason: ok\n    until: 2027-13-01\n",
			`c.yml:4:12: suppress[0].until: "2027-13-01" is not a date (want YYYY-MM-DD)`},
		{"missing reason", "suppress:\n  - rule: cors-reflected-origin\n    path: /a\n",
			`c.yml:2:5: suppress[0]: reason is required: say why this finding is accepted`},
		{"malformed", "target:\n  url: [unclosed\nfail-on: high\n",
			`c.yml:2:1: malformed YAML: did not find expected ',' or ']'`},
		{"tabs", "target:\n\turl: x\n", `c.yml:2:1: malformed YAML: found character that cannot start any token`},
		{"binary", "\x00\x01\x02\x03", `c.yml: not a text file (binary or not UTF-8)`},
		{"not utf8", "fail-on: \xff\xfe\n", `c.yml: not a text file (binary or not UTF-8)`},
		{"list top", "- a\n- b\n", `c.yml:1:1: the config must be a mapping of keys such as target, identities, suppress; got a list`},
		{"alias bomb", bomb, `the config expands to more than 100000 values (alias bomb?)`},
		{"bad severity", "fail-on: severe\n",
			`c.yml:1:10: fail-on: unknown severity "severe" (want critical, high, medium, low, info or none)`},
		{"two auths", "identities:\n  a:\n    token: t\n    basic: {username: u, password: p}\n",
			`c.yml:2:3: identities.a: give only one way to authenticate, not basic and token`},
		{"no auth", "identities:\n  a: {}\n",
			`c.yml:2:3: identities.a: no credentials (give one of token, header, cookie, basic, login, signup, or username and password)`},
		{"identity scalar", "identities:\n  a: sometoken\n",
			`c.yml:2:6: identities.a: want a mapping such as {token: ...} or {login: ...}, got a plain value`},
		{"secret in wrong place", "identities:\n  a:\n    basic: alice:pw-literal-9\n",
			`c.yml:3:12: identities.a.basic: want a mapping, got a plain value`},
		{"duplicate key", "fail-on: high\nfail-on: low\n", `c.yml:2:1: duplicate key "fail-on" in the top level`},
		{"url and compose", "target:\n  url: http://127.0.0.1:8080\n  compose: dc.yml\n",
			`c.yml:2:3: target: give url or compose, not both`},
		{"bad endpoint", "endpoints: [FETCH /a]\n",
			`c.yml:1:13: endpoints[0]: want "METHOD /path", e.g. "GET /api/orders/{id}", got "FETCH /a"`},
		{"public no slash", "public: [health]\n", `c.yml:1:10: public[0]: "health" must be a path starting with /`},
		{"metadata allow-host", "allow-hosts: [api.example, 169.254.169.254]\n",
			`c.yml:1:28: allow-hosts[1]: 169.254.169.254 is a link-local (cloud metadata) address; those are never scanned`},
		{"malformed login token path", "identities:\n  a:\n    login:\n      path: /l\n      token: \"$.[[\"\n",
			`c.yml:5:14: identities.a.login.token: malformed JSON path: unclosed [`},
		{"malformed signup login token path",
			"identities:\n  a:\n    signup:\n      path: /r\n      login: {path: /l, token: \"$.a[x]\"}\n",
			`c.yml:5:32: identities.a.signup.login.token: malformed JSON path: index "x" is not a number`},
		{"negative", "probes: {burst: -5}\n", `c.yml:1:17: probes.burst: must not be negative, got -5`},
		{"huge burst", "probes:\n  burst: 100000000\n",
			`c.yml:2:10: probes.burst: at most 1000, got 100000000`},
		{"many logins", "probes: {login-attempts: 101}\n",
			`c.yml:1:26: probes.login-attempts: at most 100, got 101`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			_, err := Parse([]byte(c.in), "c.yml", Options{Getenv: getenv})
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			if c.name == "alias bomb" {
				if !strings.HasSuffix(err.Error(), c.want) || time.Since(start) > 2*time.Second {
					t.Fatalf("got %v after %s", err, time.Since(start))
				}
				return
			}
			if err.Error() != c.want {
				t.Fatalf("got  %s\nwant %s", err, c.want)
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	big := []byte("# " + strings.Repeat("x", MaxSize) + "\n")
	_, err := Parse(big, "c.yml", Options{})
	if err == nil || err.Error() != "c.yml: larger than 1024 KiB; a config is a few lines" {
		t.Errorf("got %v", err)
	}
}

func TestEmptyMeansDefaults(t *testing.T) {
	for _, in := range []string{"", "# only a comment\n", "---\n"} {
		c, err := Parse([]byte(in), "c.yml", Options{})
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if c.FailOn != "" || c.Identities != nil || c.Target != (Target{}) {
			t.Errorf("%q: not the zero config: %+v", in, c)
		}
	}
}

func TestSecretsNotInErrors(t *testing.T) {
	_, err := Parse([]byte("identities:\n  a:\n    token: ${BOB_TOKEN}\n    cookie: {value: x}\n"),
		"c.yml", Options{Getenv: getenv})
	if err == nil || strings.Contains(err.Error(), "tok-bob-1") {
		t.Fatalf("error %v", err)
	}
}
