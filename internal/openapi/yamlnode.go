package openapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxNodes bounds how many YAML nodes converting a document may visit. Aliases are followed,
// so a small document built as an alias bomb would otherwise expand without end.
const maxNodes = 2_000_000

// notMappingError is a document that parsed but is a list or a scalar.
type notMappingError struct{ line int }

func (e *notMappingError) Error() string { return "the document is not a mapping" }

var errTooLarge = errors.New("document expands to too many nodes (alias bomb?)")

// parseYAML reads YAML or JSON into a node tree. Syntax errors keep yaml.v3's "line N" text,
// which the caller turns into file:line.
func parseYAML(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, errors.New("empty document")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &notMappingError{line: root.Line}
	}
	return root, nil
}

// toJSON turns a node tree into JSON, so kin-openapi reads YAML and JSON the same way.
// Mapping keys are kept as written (response codes such as 200 stay strings).
func toJSON(n *yaml.Node) ([]byte, error) {
	budget := maxNodes
	v, err := nodeValue(n, &budget, 0)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

func nodeValue(n *yaml.Node, budget *int, depth int) (any, error) {
	*budget--
	if *budget < 0 {
		return nil, errTooLarge
	}
	if depth > 1000 {
		return nil, fmt.Errorf("line %d: nesting too deep", n.Line)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return nodeValue(n.Content[0], budget, depth+1)
	case yaml.AliasNode:
		return nodeValue(n.Alias, budget, depth+1)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := nodeValue(c, budget, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, vn := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" {
				if err := mergeInto(out, vn, budget, depth); err != nil {
					return nil, err
				}
				continue
			}
			v, err := nodeValue(vn, budget, depth+1)
			if err != nil {
				return nil, err
			}
			out[k.Value] = v
		}
		return out, nil
	case yaml.ScalarNode:
		return scalarValue(n), nil
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

// mergeInto applies a YAML merge key (<<: *anchor), keeping keys already set.
func mergeInto(out map[string]any, n *yaml.Node, budget *int, depth int) error {
	v, err := nodeValue(n, budget, depth+1)
	if err != nil {
		return err
	}
	maps := []any{v}
	if s, ok := v.([]any); ok {
		maps = s
	}
	for _, m := range maps {
		mm, ok := m.(map[string]any)
		if !ok {
			return fmt.Errorf("line %d: merge value is not a mapping", n.Line)
		}
		for k, x := range mm {
			if _, set := out[k]; !set {
				out[k] = x
			}
		}
	}
	return nil
}

func scalarValue(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		b, err := strconv.ParseBool(strings.ToLower(n.Value))
		if err == nil {
			return b
		}
	case "!!int":
		if i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil {
			return i
		}
	case "!!float":
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f
		}
	}
	return n.Value
}

// mapValue returns the value node of key in mapping m, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
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

// keyLine is the line of key in mapping m, 0 when absent.
func keyLine(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i].Line
		}
	}
	return 0
}

// operationLines maps "METHOD /path" to the line of the method key under paths.
func operationLines(root *yaml.Node) map[string]int {
	out := map[string]int{}
	paths := mapValue(root, "paths")
	if paths == nil || paths.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(paths.Content); i += 2 {
		p, item := paths.Content[i].Value, paths.Content[i+1]
		if item.Kind == yaml.AliasNode {
			item = item.Alias
		}
		if item.Kind != yaml.MappingNode {
			continue
		}
		for j := 0; j+1 < len(item.Content); j += 2 {
			k := item.Content[j]
			if httpMethods[strings.ToLower(k.Value)] {
				out[strings.ToUpper(k.Value)+" "+p] = k.Line
			}
		}
	}
	return out
}

var httpMethods = map[string]bool{
	"get": true, "put": true, "post": true, "delete": true, "options": true,
	"head": true, "patch": true, "trace": true,
}

var yamlLineRe = regexp.MustCompile(`line (\d+)`)

// errorLine finds a "line N" in a parser's message, 0 when none.
func errorLine(err error) int {
	m := yamlLineRe.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	// yaml.v3 counts parser errors' lines from zero and scanner errors' from one.
	if strings.Contains(err.Error(), "did not find expected") {
		n++
	}
	return n
}
