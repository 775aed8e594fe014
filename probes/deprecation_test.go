package probes

import (
	"testing"
	"time"
)

func TestParseDeprecation(t *testing.T) {
	cases := []struct {
		in         string
		ok         bool
		conformant bool
		at         int64 // unix seconds, 0 for none
	}{
		{"@1688169599", true, true, 1688169599},
		{" @1688169599 ", true, true, 1688169599},
		{"true", true, false, 0},
		{"Sun, 30 Jun 2023 23:59:59 GMT", true, false, 1688169599},
		{"@1688169599.5", false, false, 0},
		{"1688169599", false, false, 0},
		{"@", false, false, 0},
		{"@99999999999999999", false, false, 0},
		{"yes", false, false, 0},
		{"", false, false, 0},
	}
	for _, c := range cases {
		d, ok := ParseDeprecation(c.in)
		var at int64
		if !d.At.IsZero() {
			at = d.At.Unix()
		}
		if ok != c.ok || d.Conformant != c.conformant || at != c.at {
			t.Errorf("ParseDeprecation(%q) = %+v, %v", c.in, d, ok)
		}
	}
}

func TestParseSunset(t *testing.T) {
	want := time.Date(2018, 12, 31, 23, 59, 59, 0, time.UTC)
	cases := []struct {
		in         string
		ok, strict bool
	}{
		{"Mon, 31 Dec 2018 23:59:59 GMT", true, true},
		{"Mon, 31 Dec 2018 23:59:59 UTC", true, false},
		{"Monday, 31-Dec-18 23:59:59 GMT", true, false},
		{"2018-12-31T23:59:59Z", false, false},
		{"@1546300799", false, false},
		{"", false, false},
	}
	for _, c := range cases {
		got, strict, ok := ParseSunset(c.in)
		if ok != c.ok || strict != c.strict || (ok && !got.Equal(want)) {
			t.Errorf("ParseSunset(%q) = %v, %v, %v", c.in, got, strict, ok)
		}
	}
}

func TestParseLinks(t *testing.T) {
	ls := ParseLinks([]string{
		`<https://d.example/a,b>; rel="deprecation sunset"; type="text/html", <https://x>;rel=next`,
		`garbage, <https://s.example/policy>; rel=sunset`,
		`<unterminated; rel=x`,
	})
	if len(ls) != 3 {
		t.Fatalf("got %d links: %+v", len(ls), ls)
	}
	if ls[0].URL != "https://d.example/a,b" || !ls[0].HasRel("deprecation") ||
		!ls[0].HasRel("sunset") || ls[0].Type != "text/html" {
		t.Errorf("first link: %+v", ls[0])
	}
	if !ls[1].HasRel("next") || !ls[2].HasRel("sunset") {
		t.Errorf("links: %+v", ls)
	}
}

// FuzzDeprecationHeaders feeds arbitrary values to the Deprecation, Sunset and Link parsers.
// They must not panic and must bound their output.
func FuzzDeprecationHeaders(f *testing.F) {
	f.Add("@1688169599", "Sat, 31 Dec 2044 23:59:59 GMT", `<https://d.example>; rel="deprecation"`)
	f.Add("true", "Sat, 31 Dec 2044 23:59:59 UTC", `<a>;;;=;rel=, <b`)
	f.Add("@-1", "31 Dec", `<"a>"; rel="x\"y", ,,; <c>`)
	f.Fuzz(func(t *testing.T, dep, sunset, link string) {
		d, ok := ParseDeprecation(dep)
		if !ok && (d.Conformant || !d.At.IsZero()) {
			t.Fatalf("rejected value %q left a result %+v", dep, d)
		}
		_, _, _ = ParseSunset(sunset)
		ls := ParseLinks([]string{link, link})
		if len(ls) > maxLinks {
			t.Fatalf("%d links from %d bytes", len(ls), len(link))
		}
		for _, l := range ls {
			if len(l.Rels) > maxLinks {
				t.Fatalf("%d rels", len(l.Rels))
			}
		}
	})
}
