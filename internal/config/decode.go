package config

import (
	"fmt"
	"math"
	"net"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/apigate/apigate/internal/identity"
)

// maxNodes bounds the nodes decoding may visit, following aliases; a real config has a few
// hundred. It stops alias bombs in bounded time and memory.
const maxNodes = 100_000

// Error is a config problem at a place in the file.
type Error struct {
	Pos Position
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

type decoder struct {
	file   string
	getenv func(string) (string, bool)
	budget int
	// expanded maps each environment value used to its "${NAME}", so errors can show the
	// reference instead of the value (see hideEnv).
	expanded map[string]string
}

func (d *decoder) errf(n *yaml.Node, format string, args ...any) error {
	return &Error{Pos: d.pos(n), Msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) pos(n *yaml.Node) Position {
	return Position{File: d.file, Line: n.Line, Column: n.Column}
}

// resolve follows an alias and charges the node budget.
func (d *decoder) resolve(n *yaml.Node) (*yaml.Node, error) {
	for depth := 0; n.Kind == yaml.AliasNode; depth++ {
		if depth > 100 {
			return nil, d.errf(n, "alias chain too long")
		}
		n = n.Alias
	}
	d.budget--
	if d.budget < 0 {
		return nil, d.errf(n, "the config expands to more than %d values (alias bomb?)", maxNodes)
	}
	return n, nil
}

var (
	dateType     = reflect.TypeOf(Date{})
	endpointType = reflect.TypeOf(Endpoint{})
	identsType   = reflect.TypeOf([]Identity{})
	anyMapType   = reflect.TypeOf(map[string]any{})
)

// decode fills v (a pointer's element) from n; where names the key path for messages.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, where string) error {
	n, err := d.resolve(n)
	if err != nil {
		return err
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil // an empty value keeps the default
	}
	switch v.Type() {
	case dateType:
		return d.decodeDate(n, v, where)
	case endpointType:
		return d.decodeEndpoint(n, v, where)
	case identsType:
		return d.decodeIdentities(n, v, where)
	case anyMapType:
		if n.Kind != yaml.MappingNode {
			return d.errf(n, "%s: want a mapping, got %s", where, d.kind(n, where))
		}
		val, err := d.anyValue(n, where, 0)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(val))
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		nv := reflect.New(v.Type().Elem())
		if err := d.decode(n, nv.Elem(), where); err != nil {
			return err
		}
		v.Set(nv)
		return nil
	case reflect.Struct:
		return d.decodeStruct(n, v, where)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return d.errf(n, "%s: want a list, got %s", where, d.kind(n, where))
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			if err := d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", where, i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.String:
		s, err := d.scalar(n, where, "a string")
		if err != nil {
			return err
		}
		v.SetString(s)
		return nil
	case reflect.Int:
		s, err := d.scalar(n, where, "an integer")
		if err != nil {
			return err
		}
		i, err := strconv.Atoi(s)
		if err != nil || (n.ShortTag() != "!!int" && n.ShortTag() != "!!str") {
			return d.errf(n, "%s: want an integer, got %q", where, s)
		}
		if i < 0 {
			return d.errf(n, "%s: must not be negative, got %d", where, i)
		}
		if m, ok := maxInt[where]; ok && i > m {
			return d.errf(n, "%s: at most %d, got %d", where, m, i)
		}
		v.SetInt(int64(i))
		return nil
	case reflect.Bool:
		s, err := d.scalar(n, where, "true or false")
		if err != nil {
			return err
		}
		switch strings.ToLower(s) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			return d.errf(n, "%s: want true or false, got %q", where, s)
		}
		return nil
	}
	return d.errf(n, "%s: unsupported field type %s", where, v.Type())
}

// scalar returns a scalar's text with ${VAR} expanded.
func (d *decoder) scalar(n *yaml.Node, where, want string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", d.errf(n, "%s: want %s, got %s", where, want, d.kind(n, where))
	}
	return d.expand(n, where)
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, where string) error {
	if n.Kind != yaml.MappingNode {
		return d.errf(n, "%s: want a mapping, got %s", where, d.kind(n, where))
	}
	fields := map[string]int{}
	var names []string
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("yaml")
		if tag == "" || tag == "-" {
			if t.Field(i).Type == reflect.TypeOf(Position{}) {
				v.Field(i).Set(reflect.ValueOf(d.pos(n)))
			}
			continue
		}
		fields[tag] = i
		names = append(names, tag)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := k.Value
		if k.Kind != yaml.ScalarNode {
			return d.errf(k, "%s: keys must be plain names", where)
		}
		if k.Tag == "!!merge" {
			return d.errf(k, "%s: merge keys (<<) are not supported; repeat the keys", where)
		}
		if seen[key] {
			return d.errf(k, "duplicate key %q in %s", key, label(where))
		}
		seen[key] = true
		idx, ok := fields[key]
		if !ok {
			return d.errf(k, "unknown key %q in %s (known: %s)", key, label(where), strings.Join(names, ", "))
		}
		if err := d.decode(val, v.Field(idx), join(where, key)); err != nil {
			return err
		}
		if t == reflect.TypeOf(Config{}) && key == "allow-hosts" {
			if err := d.checkAllowHosts(val, v.Field(idx).Interface().([]string)); err != nil {
				return err
			}
		}
		if t == reflect.TypeOf(Login{}) && key == "token" {
			// A login's token is a JSON path into its answer: refused now, not after logging in.
			if err := identity.ValidPath(v.Field(idx).String()); err != nil {
				return d.errf(val, "%s: malformed JSON path: %v", join(where, key), err)
			}
		}
	}
	return nil
}

// decodeIdentities keeps the order the identities are written in.
func (d *decoder) decodeIdentities(n *yaml.Node, v reflect.Value, where string) error {
	if n.Kind != yaml.MappingNode {
		return d.errf(n, "%s: want a mapping of names to credentials, got %s", where, d.kind(n, where))
	}
	var out []Identity
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			return d.errf(k, "%s: duplicate identity %q", where, k.Value)
		}
		seen[k.Value] = true
		id := Identity{Name: k.Value}
		w := join(where, k.Value)
		rv, err := d.resolve(val)
		if err != nil {
			return err
		}
		if rv.Kind == yaml.ScalarNode && rv.ShortTag() != "!!null" {
			return d.errf(rv, "%s: want a mapping such as {token: ...} or {login: ...}, got %s",
				w, d.kind(rv, w))
		}
		if err := d.decode(val, reflect.ValueOf(&id).Elem(), w); err != nil {
			return err
		}
		id.Pos = d.pos(k)
		if err := checkIdentity(id, w); err != nil {
			return err
		}
		out = append(out, id)
	}
	v.Set(reflect.ValueOf(out))
	return nil
}

func (d *decoder) decodeDate(n *yaml.Node, v reflect.Value, where string) error {
	s, err := d.scalar(n, where, "a date")
	if err != nil {
		return err
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return d.errf(n, "%s: %q is not a date (want YYYY-MM-DD)", where, s)
	}
	v.Set(reflect.ValueOf(Date{t}))
	return nil
}

func (d *decoder) decodeEndpoint(n *yaml.Node, v reflect.Value, where string) error {
	s, err := d.scalar(n, where, `"METHOD /path"`)
	if err != nil {
		return err
	}
	method, path, ok := strings.Cut(strings.TrimSpace(s), " ")
	path = strings.TrimSpace(path)
	method = strings.ToUpper(method)
	if !ok || !strings.HasPrefix(path, "/") || !validMethods[method] {
		return d.errf(n, `%s: want "METHOD /path", e.g. "GET /api/orders/{id}", got %q`, where, s)
	}
	v.Set(reflect.ValueOf(Endpoint{Method: method, Path: path, Pos: d.pos(n)}))
	return nil
}

var validMethods = map[string]bool{
	"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "HEAD": true, "OPTIONS": true,
}

// anyValue decodes free-form data (a login body), expanding ${VAR} in strings.
func (d *decoder) anyValue(n *yaml.Node, where string, depth int) (any, error) {
	n, err := d.resolve(n)
	if err != nil {
		return nil, err
	}
	if depth > 50 {
		return nil, d.errf(n, "%s: nested too deep", where)
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if _, dup := m[k.Value]; dup {
				return nil, d.errf(k, "%s: duplicate key %q", where, k.Value)
			}
			val, err := d.anyValue(n.Content[i+1], join(where, k.Value), depth+1)
			if err != nil {
				return nil, err
			}
			m[k.Value] = val
		}
		return m, nil
	case yaml.SequenceNode:
		out := []any{}
		for i, c := range n.Content {
			val, err := d.anyValue(c, fmt.Sprintf("%s[%d]", where, i), depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, val)
		}
		return out, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			return strings.EqualFold(n.Value, "true"), nil
		case "!!int":
			if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
				return i, nil
			}
		case "!!float":
			if f, err := strconv.ParseFloat(n.Value, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return f, nil
			}
		}
		return d.expand(n, where)
	}
	return nil, d.errf(n, "%s: unsupported value", where)
}

// checkAllowHosts refuses link-local addresses in allow-hosts: they are never scanned
// (cloud metadata), so listing one is a mistake to point out, not to accept silently.
func (d *decoder) checkAllowHosts(n *yaml.Node, hosts []string) error {
	for i, h := range hosts {
		ip := net.ParseIP(strings.Trim(h, "[]"))
		if ip == nil || !(ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast()) {
			continue
		}
		at := n
		if n.Kind == yaml.SequenceNode && i < len(n.Content) {
			at = n.Content[i]
		}
		return d.errf(at, "allow-hosts[%d]: %s is a link-local (cloud metadata) address; "+
			"those are never scanned", i, h)
	}
	return nil
}

func checkIdentity(id Identity, where string) error {
	var set []string
	add := func(ok bool, name string) {
		if ok {
			set = append(set, name)
		}
	}
	add(id.Token != "", "token")
	add(id.Header != nil, "header")
	add(id.Cookie != nil, "cookie")
	add(id.Basic != nil, "basic")
	add(id.Login != nil, "login")
	add(id.Signup != nil, "signup")
	add(id.Username != "" || id.Password != "", "username/password")
	switch {
	case len(set) == 0:
		return &Error{Pos: id.Pos, Msg: where + ": no credentials (give one of token, header, " +
			"cookie, basic, login, signup, or username and password)"}
	case len(set) > 1:
		sort.Strings(set)
		return &Error{Pos: id.Pos, Msg: where + ": give only one way to authenticate, not " +
			strings.Join(set, " and ")}
	case (id.Username == "") != (id.Password == ""):
		return &Error{Pos: id.Pos, Msg: where + ": username and password go together"}
	case id.Header != nil && id.Header.Name == "":
		return &Error{Pos: id.Pos, Msg: where + ".header: needs a name"}
	case id.Cookie != nil && id.Cookie.Name == "":
		return &Error{Pos: id.Pos, Msg: where + ".cookie: needs a name"}
	case id.Login != nil && id.Login.Path == "":
		return &Error{Pos: id.Pos, Msg: where + ".login: needs a path"}
	}
	return nil
}

// kind describes a node for a message. Under identities a scalar's text is never quoted:
// a token written where a mapping belongs is still a secret.
func (d *decoder) kind(n *yaml.Node, where string) string {
	if n.Kind == yaml.ScalarNode && (where == "identities" || strings.HasPrefix(where, "identities.")) {
		return "a plain value"
	}
	return kindName(n)
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "something else"
}

func join(where, key string) string {
	if where == "" {
		return key
	}
	return where + "." + key
}

// label names a key path for a message; the root has no path.
func label(where string) string {
	if where == "" {
		return "the top level"
	}
	return where
}

func itoa(i int) string { return strconv.Itoa(i) }
