package httpx

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"
)

// shellWords splits a command line the way a POSIX shell would, for the only constructs a
// safe curl line may hold: bare words of inert characters, '...' single-quoted text, and
// "${NAME}" double-quoted variable references (expanded from env). Anything else (an
// unquoted $, a backtick, a glob, a redirection) is an error: it would let the shell act.
func shellWords(line string, env map[string]string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); {
		c := line[i]
		switch {
		case c == ' ':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
			i++
		case c == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("unterminated single quote at %d", i)
			}
			cur.WriteString(line[i+1 : i+1+end])
			inWord = true
			i += end + 2
		case c == '"':
			end := strings.IndexByte(line[i+1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("unterminated double quote at %d", i)
			}
			inner := line[i+1 : i+1+end]
			if !strings.HasPrefix(inner, "${") || !strings.HasSuffix(inner, "}") ||
				!isName(inner[2:len(inner)-1]) {
				return nil, fmt.Errorf("double quotes around %q, not a ${NAME} reference", inner)
			}
			v, ok := env[inner[2:len(inner)-1]]
			if !ok {
				return nil, fmt.Errorf("reference to unknown variable %s", inner)
			}
			cur.WriteString(v)
			inWord = true
			i += end + 2
		case c == '\\' && i+1 < len(line) && line[i+1] == '\'':
			cur.WriteByte('\'')
			inWord = true
			i += 2
		case strings.IndexByte("\t\n\\$`!*?[]{}()<>|&;#~\"", c) >= 0:
			return nil, fmt.Errorf("unquoted %q at %d", c, i)
		default:
			cur.WriteByte(c)
			inWord = true
			i++
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

func isName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// wantArgs is the argv the curl line must expand to (after "curl").
func wantArgs(e *Exchange) []string {
	args := []string{"-sS", "-i"}
	if e.Method != "GET" {
		args = append(args, "-X", e.Method)
	}
	for _, k := range []string{"Authorization", "X-Note"} {
		for _, v := range e.ReqHeader[k] {
			args = append(args, "-H", k+": "+v)
		}
	}
	if len(e.ReqBody) > 0 {
		args = append(args, "--data-binary", string(e.ReqBody))
	}
	return append(args, e.URL)
}

// curlCases are requests with secrets and shell metacharacters in every position.
func curlCases() []*Exchange {
	const tok = "s3cr3t'$(touch pwned)`id`\"!*"
	return []*Exchange{
		{Method: "GET", URL: "http://127.0.0.1:8080/api/items?q=a b&x=$HOME",
			ReqHeader: http.Header{"Authorization": {"Bearer " + tok}}},
		{Method: "POST", URL: "http://127.0.0.1:8080/login",
			ReqHeader: http.Header{"X-Note": {"it's ${HOME} & `date`; echo \\ 'x'"}},
			ReqBody:   []byte(`{"user":"o'brien","password":"` + tok + `","n":"\n\t"}`)},
		{Method: "DELETE", URL: "http://127.0.0.1:8080/api/items/" + tok,
			ReqHeader: http.Header{"Authorization": {tok + tok}}},
		{Method: "PUT", URL: "http://127.0.0.1:8080/x", ReqBody: []byte("'''")},
	}
}

func curlRedactor() *Redactor {
	r := NewRedactor()
	r.Add("s3cr3t'$(touch pwned)`id`\"!*", "ALICE_TOKEN")
	return r
}

// TestCurlLinesRunInARealShell evaluates each curl line with /bin/sh, with curl replaced by
// a function that prints its arguments, in an empty directory and with the secret exported:
// the arguments must come back exactly, nothing may be executed or created, and the secret
// must appear only through the variable.
func TestCurlLinesRunInARealShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("no sh: %v", err)
	}
	r := curlRedactor()
	for i, e := range curlCases() {
		line := e.Curl(r)
		if strings.Contains(line, "s3cr3t") {
			t.Errorf("case %d: the curl line holds the raw secret: %s", i, line)
		}
		dir := t.TempDir()
		script := `curl() { for a in "$@"; do printf '%s\0' "$a"; done; }; ` + line
		cmd := exec.Command(sh, "-c", script)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=/nonexistent", "HOME=/nonexistent", "ALICE_TOKEN=" + "s3cr3t'$(touch pwned)`id`\"!*"}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("case %d: sh: %v\n%s\n%s", i, err, errb.String(), line)
		}
		got := strings.Split(strings.TrimSuffix(out.String(), "\x00"), "\x00")
		want := wantArgs(e)
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
			t.Errorf("case %d: the shell saw\n%q\nwant\n%q\nline: %s", i, got, want, line)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("case %d: the curl line created files: %v", i, entries)
		}
		if errb.Len() != 0 {
			t.Errorf("case %d: sh complained: %s", i, errb.String())
		}
		words, err := shellWords(line, map[string]string{"ALICE_TOKEN": "s3cr3t'$(touch pwned)`id`\"!*"})
		if err != nil || fmt.Sprintf("%q", words[1:]) != fmt.Sprintf("%q", want) {
			t.Errorf("case %d: the test's shell model disagrees with sh: %v %q", i, err, words)
		}
	}
}

// FuzzCurl builds curl lines from arbitrary secrets, header values, bodies and paths. Each
// line must be in the inert shell subset shellWords accepts, expand back to exactly the
// request (secret included, via its variable), and never hold the raw secret.
func FuzzCurl(f *testing.F) {
	f.Add("s3cr3t-token", "Bearer s3cr3t-token", `{"p":"s3cr3t-token"}`, "/a?k=s3cr3t-token", "POST")
	f.Add("it's", "x'y", "'''", "/'", "GET")
	f.Add("$(id)", "`id`", "${HOME}", "/$x", "DELETE")
	f.Add("abcd", "\x00\xff", "\n\t", "/ ", "PATCH")
	// A NUL in the body once split the quoting, which used NUL as its marker.
	f.Add("ab\x00cd", "x", "q\x00$(id)\x00ab\x00cd", "/", "POST")
	f.Add("1abc", "1abc", "1abc", "/1abc", "GET")
	f.Fuzz(func(t *testing.T, secret, header, body, path, method string) {
		if !utf8.ValidString(secret+header+body+path) || strings.ContainsAny(header, "\r\n\x00") {
			return // not representable in an HTTP header / a request we would send
		}
		if method == "" || strings.ContainsAny(method, " \t\r\n'") {
			method = "GET"
		}
		r := NewRedactor()
		r.Add(secret, "FUZZ_SECRET")
		e := &Exchange{Method: method, URL: "http://127.0.0.1:1" + path,
			ReqHeader: http.Header{"Authorization": {header}}, ReqBody: []byte(body)}
		line := e.Curl(r)
		env := map[string]string{"FUZZ_SECRET": secret}
		words, err := shellWords(line, env)
		if err != nil {
			t.Fatalf("unsafe curl line: %v\n%s", err, line)
		}
		if len(body) > 2048 {
			e.ReqBody = []byte(body[:2048] + "...")
		}
		want := append([]string{"curl"}, wantArgs(e)...)
		if len(e.ReqBody) == 0 {
			want = append([]string{"curl"}, wantArgs(e)...)
		}
		if fmt.Sprintf("%q", words) != fmt.Sprintf("%q", want) {
			t.Fatalf("line expands to\n%q\nwant\n%q\nline: %s", words, want, line)
		}
		if len(secret) >= minSecret && strings.Contains(line, secret) &&
			!strings.Contains("curl -sS -i -X -H --data-binary Authorization: http://127.0.0.1:1 "+
				"${FUZZ_SECRET} '\\''", secret) {
			t.Fatalf("raw secret %q in %s", secret, line)
		}
	})
}
