package probes

import (
	"net/http"
	"strings"
	"time"
)

// Parsers for the headers that announce the end of an API: Deprecation (RFC 9745), Sunset
// (RFC 8594) and the Link relations that point to their documentation. Values come from the
// server under test: the parsers never panic and read a bounded prefix.

// Deprecation is a parsed Deprecation header.
type Deprecation struct {
	// At is when the resource is (or will be) deprecated; zero for the pre-RFC "true".
	At time.Time
	// Conformant is true for the RFC 9745 form, a Structured-Field Date ("@1688169599").
	// The pre-RFC forms "true" and an HTTP-date still announce a deprecation.
	Conformant bool
}

// ParseDeprecation reads a Deprecation value. ok is false when it is not a deprecation
// announcement in any known form.
func ParseDeprecation(v string) (d Deprecation, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 256 {
		return Deprecation{}, false
	}
	if v[0] == '@' {
		it, err := parseSFItem(v)
		if err != nil {
			return Deprecation{}, false
		}
		sec, isDate := it.Value.(sfDate)
		if !isDate {
			return Deprecation{}, false
		}
		return Deprecation{At: time.Unix(int64(sec), 0).UTC(), Conformant: true}, true
	}
	if strings.EqualFold(v, "true") {
		return Deprecation{}, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return Deprecation{At: t.UTC()}, true
	}
	return Deprecation{}, false
}

// ParseSunset reads a Sunset value. It accepts IMF-fixdate with "GMT" (strict), the same
// with "UTC" and the obsolete HTTP-date forms (not strict, since RFC 8594 requires an
// HTTP-date whose zone is GMT). ok is false for anything else.
func ParseSunset(v string) (t time.Time, strict, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 64 {
		return time.Time{}, false, false
	}
	if t, err := time.Parse(http.TimeFormat, v); err == nil {
		return t.UTC(), true, true
	}
	if base, found := strings.CutSuffix(v, " UTC"); found {
		if t, err := time.Parse(http.TimeFormat, base+" GMT"); err == nil {
			return t.UTC(), false, true
		}
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.UTC(), false, true
	}
	return time.Time{}, false, false
}

// Link is one link of a Link header (RFC 8288).
type Link struct {
	URL  string
	Rels []string // lowercased relation types
	Type string
}

// HasRel reports whether the link carries relation rel.
func (l Link) HasRel(rel string) bool {
	for _, r := range l.Rels {
		if r == rel {
			return true
		}
	}
	return false
}

// Bounds of the Link parser.
const (
	maxLinkHeader = 8192
	maxLinks      = 32
)

// ParseLinks reads every link of the given Link header values. Malformed links are skipped;
// at most maxLinks are returned and at most maxLinkHeader bytes of each value are read.
func ParseLinks(values []string) []Link {
	var out []Link
	for _, v := range values {
		if len(v) > maxLinkHeader {
			v = v[:maxLinkHeader]
		}
		for i := 0; i < len(v) && len(out) < maxLinks; {
			l, next, ok := parseLink(v, i)
			if ok {
				out = append(out, l)
			}
			if next <= i {
				break // no progress: stop rather than loop
			}
			i = next
		}
	}
	return out
}

// parseLink reads one link starting at i and returns the index after its closing comma.
func parseLink(v string, i int) (Link, int, bool) {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t' || v[i] == ',') {
		i++
	}
	if i >= len(v) {
		return Link{}, len(v), false
	}
	if v[i] != '<' {
		return Link{}, skipToComma(v, i), false
	}
	end := strings.IndexByte(v[i:], '>')
	if end < 0 {
		return Link{}, len(v), false
	}
	l := Link{URL: v[i+1 : i+end]}
	i += end + 1
	for i < len(v) {
		for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
			i++
		}
		if i >= len(v) || v[i] == ',' {
			break
		}
		if v[i] != ';' {
			return Link{}, skipToComma(v, i), false
		}
		i++
		for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
			i++
		}
		nameEnd := i
		for nameEnd < len(v) && isTChar(v[nameEnd]) {
			nameEnd++
		}
		name := strings.ToLower(v[i:nameEnd])
		i = nameEnd
		for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
			i++
		}
		val := ""
		if i < len(v) && v[i] == '=' {
			i++
			for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
				i++
			}
			val, i = linkParamValue(v, i)
		}
		switch name {
		case "rel":
			for _, r := range strings.Fields(strings.ToLower(val)) {
				if len(l.Rels) < maxLinks {
					l.Rels = append(l.Rels, r)
				}
			}
		case "type":
			l.Type = val
		}
	}
	return l, i + 1, true
}

// linkParamValue reads a token or a quoted string at i.
func linkParamValue(v string, i int) (string, int) {
	if i < len(v) && v[i] == '"' {
		var b strings.Builder
		i++
		for i < len(v) {
			c := v[i]
			i++
			if c == '\\' && i < len(v) {
				b.WriteByte(v[i])
				i++
				continue
			}
			if c == '"' {
				return b.String(), i
			}
			b.WriteByte(c)
		}
		return b.String(), i
	}
	start := i
	for i < len(v) && isTChar(v[i]) {
		i++
	}
	return v[start:i], i
}

func skipToComma(v string, i int) int {
	if j := strings.IndexByte(v[i:], ','); j >= 0 {
		return i + j + 1
	}
	return len(v)
}
