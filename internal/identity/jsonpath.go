package identity

import (
	"fmt"
	"strconv"
	"strings"
)

// JSONPath reads a value from decoded JSON with a simple path: $.a.b, $.items[0].id or a.b.
// It is what login answers need, not the whole JSONPath language.
func JSONPath(doc any, path string) (any, error) {
	p := strings.TrimPrefix(strings.TrimSpace(path), "$")
	p = strings.TrimPrefix(p, ".")
	cur := doc
	if p == "" {
		return cur, nil
	}
	for _, part := range strings.Split(p, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name != "" {
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s: %q is not inside an object", path, name)
			}
			if cur, ok = m[name]; !ok {
				return nil, fmt.Errorf("%s: no field %q in the answer", path, name)
			}
		}
		for rest != "" {
			idx, after, ok := strings.Cut(rest, "]")
			if !ok {
				return nil, fmt.Errorf("%s: unclosed [", path)
			}
			i, err := strconv.Atoi(idx)
			if err != nil {
				return nil, fmt.Errorf("%s: index %q is not a number", path, idx)
			}
			a, ok := cur.([]any)
			if !ok || i < 0 || i >= len(a) {
				return nil, fmt.Errorf("%s: no element %d", path, i)
			}
			cur = a[i]
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return cur, nil
}
