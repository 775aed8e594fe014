package config

import (
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// expand replaces ${NAME} with the environment variable NAME; $${ writes a literal ${.
// A variable that is not set is an error at the value's place: a secret that silently became
// "" would log in as nobody and hide every finding that needs a user.
func (d *decoder) expand(n *yaml.Node, where string) (string, error) {
	s := n.Value
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i-1] + "${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", d.errf(n, "%s: unclosed ${ in value", where)
		}
		name := s[i+2 : i+end]
		if !validEnvName(name) {
			return "", d.errf(n, "%s: %q is not a variable name", where, name)
		}
		val, ok := d.getenv(name)
		if !ok {
			return "", d.errf(n, "%s: environment variable %s is not set", where, name)
		}
		if d.expanded == nil {
			d.expanded = map[string]string{}
		}
		d.expanded[val] = "${" + name + "}"
		b.WriteString(val)
		s = s[i+end+1:]
	}
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		ok := r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || (i > 0 && r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}

// hideEnv replaces, in a config error, every environment value the config expanded by the
// variable's reference: values of ${VAR} are often passwords and tokens, and errors end up
// in CI logs. Values under four bytes are left alone; they would mangle ordinary words.
func (d *decoder) hideEnv(err error) error {
	e, ok := err.(*Error)
	if !ok || len(d.expanded) == 0 {
		return err
	}
	vals := make([]string, 0, len(d.expanded))
	for v := range d.expanded {
		if len(v) >= 4 {
			vals = append(vals, v)
		}
	}
	sort.Slice(vals, func(i, j int) bool { return len(vals[i]) > len(vals[j]) })
	msg := e.Msg
	for _, v := range vals {
		msg = strings.ReplaceAll(msg, v, d.expanded[v])
	}
	return &Error{Pos: e.Pos, Msg: msg}
}
