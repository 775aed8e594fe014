package demo

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"

	"go.yaml.in/yaml/v4"
)

// SpecFile is where the OpenAPI document lives in the repository, for code scanning
// locations: findings about the demo are anchored to its operations' lines.
const SpecFile = "internal/demo/openapi.yaml"

//go:embed openapi.yaml
var specYAML []byte

// hardenedOnlyMarker starts the part of openapi.yaml that only the hardened mode documents
// (its /api/v1 routes). Everything before it is the vulnerable mode's whole document, so the
// line numbers of the operations are the same in both.
var hardenedOnlyMarker = []byte("# --- hardened only ---")

// spec is one mode's OpenAPI document in both encodings.
type spec struct {
	yaml []byte
	json []byte
}

// Spec returns the OpenAPI document (YAML) of the given mode.
func Spec(hardened bool) []byte {
	if hardened {
		return specYAML
	}
	i := bytes.Index(specYAML, hardenedOnlyMarker)
	if i < 0 {
		panic("demo: openapi.yaml lost its hardened-only marker")
	}
	return specYAML[:i]
}

func loadSpec(hardened bool) (spec, error) {
	y := Spec(hardened)
	j, err := yamlToJSON(y)
	if err != nil {
		return spec{}, fmt.Errorf("demo: openapi.yaml: %w", err)
	}
	return spec{yaml: y, json: j}, nil
}

// yamlToJSON converts a YAML document whose mappings have string keys to indented JSON.
func yamlToJSON(y []byte) ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(y, &doc); err != nil {
		return nil, err
	}
	clean, err := jsonable(doc)
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(clean, "", "  ")
}

// jsonable turns YAML's decoded maps into map[string]any, which encoding/json accepts.
func jsonable(v any) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			c, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			t[k] = c
		}
		return t, nil
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			ks, ok := k.(string)
			if !ok {
				return nil, errors.New("mapping key is not a string")
			}
			c, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			out[ks] = c
		}
		return out, nil
	case []any:
		for i, e := range t {
			c, err := jsonable(e)
			if err != nil {
				return nil, err
			}
			t[i] = c
		}
		return t, nil
	}
	return v, nil
}
