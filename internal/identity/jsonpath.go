package identity

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// JSONPath reads a value from decoded JSON with a simple path: $.a.b, $.items[0].id or a.b.
// It is what login answers need, not the whole JSONPath language.
func JSONPath(doc any, path string) (any, error) {
	steps, err := parsePath(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cur := doc
	for _, s := range steps {
		if s.index < 0 {
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s: %q is not inside an object", path, s.name)
			}
			if cur, ok = m[s.name]; !ok {
				return nil, fmt.Errorf("%s: no field %q in the answer", path, s.name)
			}
			continue
		}
		a, ok := cur.([]any)
		if !ok || s.index >= len(a) {
			return nil, fmt.Errorf("%s: no element %d", path, s.index)
		}
		cur = a[s.index]
	}
	return cur, nil
}

// ValidPath checks a path's syntax, so a config can be refused when it loads rather than
// after logging in.
func ValidPath(path string) error {
	_, err := parsePath(path)
	return err
}

// step is a field name, or an array index when index >= 0.
type step struct {
	name  string
	index int
}

func parsePath(path string) ([]step, error) {
	p := strings.TrimPrefix(strings.TrimSpace(path), "$")
	p = strings.TrimPrefix(p, ".")
	if p == "" {
		return nil, nil
	}
	var steps []step
	for _, part := range strings.Split(p, ".") {
		name, rest, bracket := strings.Cut(part, "[")
		if strings.Contains(name, "]") {
			return nil, errors.New("] without [")
		}
		if name == "" && !bracket {
			return nil, errors.New("empty field name")
		}
		if name != "" {
			steps = append(steps, step{name: name, index: -1})
		}
		for rest != "" || bracket {
			bracket = false
			idx, after, ok := strings.Cut(rest, "]")
			if !ok {
				return nil, errors.New("unclosed [")
			}
			i, err := strconv.Atoi(idx)
			if err != nil || i < 0 {
				return nil, fmt.Errorf("index %q is not a number", idx)
			}
			steps = append(steps, step{index: i})
			if after == "" {
				break
			}
			if !strings.HasPrefix(after, "[") {
				return nil, fmt.Errorf("unexpected %q after ]", after)
			}
			rest = after[1:]
			bracket = true
		}
	}
	return steps, nil
}
