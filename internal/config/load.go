package config

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/apigate/apigate/internal/finding"
)

// MaxSize caps the config file; a real one is a few kilobytes.
const MaxSize = 1 << 20

// Options tune loading. The zero value reads the process environment.
type Options struct {
	// Getenv looks up ${VAR} values; default os.LookupEnv.
	Getenv func(string) (string, bool)
}

// Find returns the config file in dir (.apigate.yml, then .apigate.yaml), or "" if none.
func Find(dir string) string {
	for _, name := range []string{DefaultFile, ".apigate.yaml"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// Load reads and checks the config file at path.
func Load(path string, o Options) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	return Parse(data, path, o)
}

// Parse checks a config held in memory; file names it in errors.
func Parse(data []byte, file string, o Options) (*Config, error) {
	at := func(line int, msg string) error {
		return &Error{Pos: Position{File: file, Line: line, Column: min(line, 1)}, Msg: msg}
	}
	if len(data) > MaxSize {
		return nil, at(0, fmt.Sprintf("larger than %d KiB; a config is a few lines", MaxSize>>10))
	}
	if bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data) {
		return nil, at(0, "not a text file (binary or not UTF-8)")
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(file, err)
	}
	c := &Config{File: file}
	if len(doc.Content) == 0 {
		return c, nil // an empty file: every default
	}
	d := &decoder{file: file, getenv: o.Getenv, budget: maxNodes}
	if d.getenv == nil {
		d.getenv = os.LookupEnv
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode && !(root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null") {
		return nil, d.errf(root,
			"the config must be a mapping of keys such as target, identities, suppress; got %s",
			kindName(root))
	}
	if err := d.decode(root, reflect.ValueOf(c).Elem(), ""); err != nil {
		return nil, d.hideEnv(err)
	}
	if err := c.check(root, d); err != nil {
		return nil, d.hideEnv(err)
	}
	return c, nil
}

// yamlError turns a yaml.v3 syntax error into file:line: message.
func yamlError(file string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if strings.HasPrefix(msg, "line ") {
		rest := msg[len("line "):]
		n, after, ok := strings.Cut(rest, ": ")
		if ok {
			fmt.Sscanf(n, "%d", &line)
			msg = after
			line += parserLineSkew(msg)
		}
	}
	return &Error{Pos: Position{File: file, Line: line, Column: min(line, 1)}, Msg: "malformed YAML: " + msg}
}

// parserLineSkew corrects yaml.v3's parser errors ("did not find expected ..."), which
// count lines from zero where its scanner errors count from one.
func parserLineSkew(msg string) int {
	if strings.HasPrefix(msg, "did not find expected") {
		return 1
	}
	return 0
}

// check validates what the types alone cannot.
func (c *Config) check(root *yaml.Node, d *decoder) error {
	place := func(keys ...string) Position {
		n := root
		for _, k := range keys {
			if v := valueNode(n, k); v != nil {
				n = v
			}
		}
		return d.pos(n)
	}
	if c.FailOn != "" && !strings.EqualFold(c.FailOn, "none") {
		if _, err := finding.ParseSeverity(c.FailOn); err != nil {
			return &Error{Pos: place("fail-on"), Msg: fmt.Sprintf(
				"fail-on: unknown severity %q (want critical, high, medium, low, info or none)", c.FailOn)}
		}
	}
	if c.Target.URL != "" && c.Target.Compose != "" {
		return &Error{Pos: place("target"), Msg: "target: give url or compose, not both"}
	}
	if c.Target.Port > 65535 {
		return &Error{Pos: place("target", "port"),
			Msg: fmt.Sprintf("target.port: %d is not a port", c.Target.Port)}
	}
	for i, p := range c.Public {
		if !strings.HasPrefix(p, "/") {
			return &Error{Pos: itemPos(root, d, "public", i), Msg: fmt.Sprintf(
				"public[%d]: %q must be a path starting with /", i, p)}
		}
	}
	for i, s := range c.Suppress {
		w := fmt.Sprintf("suppress[%d]", i)
		switch {
		case s.Rule == "":
			return &Error{Pos: s.Pos, Msg: w + ": rule is required (a rule ID from 'apigate rules')"}
		case strings.TrimSpace(s.Reason) == "":
			return &Error{Pos: s.Pos, Msg: w + ": reason is required: say why this finding is accepted"}
		case s.Path != "" && !strings.HasPrefix(s.Path, "/"):
			return &Error{Pos: s.Pos, Msg: fmt.Sprintf("%s: path %q must start with /", w, s.Path)}
		}
	}
	return nil
}

func valueNode(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func itemPos(root *yaml.Node, d *decoder, key string, i int) Position {
	if v := valueNode(root, key); v != nil && v.Kind == yaml.SequenceNode && i < len(v.Content) {
		return d.pos(v.Content[i])
	}
	return Position{File: d.file}
}
