package finding

import "regexp"

// curlVariable matches a ${LABEL} reference a redactor put in a curl line.
var curlVariable = regexp.MustCompile(`\$\{([A-Z0-9_]+)\}`)

// CurlVariables lists the distinct ${LABEL} variables a curl line uses, in order of
// appearance.
func CurlVariables(curl string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range curlVariable.FindAllStringSubmatch(curl, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, m[1])
		}
	}
	return out
}
