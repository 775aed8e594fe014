package config

import (
	"strings"
	"testing"
)

// FuzzParseNeverQuotesEnvValues: whatever the config, an error never quotes the value of
// an environment variable it expanded; those hold passwords and tokens, and errors are
// printed in CI logs.
func FuzzParseNeverQuotesEnvValues(f *testing.F) {
	f.Add([]byte("identities:\n  alice:\n    token: ${TOKEN}\n  bob: {username: bob, password: \"${PW}\"}\n"))
	f.Add([]byte("identities:\n  a:\n    token: ${T}\n    cookie: {value: x}\n"))
	f.Add([]byte("target: {url: \"${U}\", port: \"${P}\"}\n"))
	f.Add([]byte("fail-on: ${F}\n"))
	f.Add([]byte("identities: {a: {basic: {username: u, password: ${P}}}}\n"))
	f.Add([]byte("allow-hosts: [${H}]\nprobes: {burst: ${B}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const envValue = "fuzz-env-secret-value"
		_, err := Parse(data, "f.yml", Options{Getenv: func(string) (string, bool) {
			return envValue, true
		}})
		if err != nil && strings.Contains(err.Error(), envValue) {
			t.Fatalf("error quotes an expanded environment value: %v", err)
		}
	})
}
