package probes

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

// verReq is one way to call an operation: a filled path (with query) and extra headers.
type verReq struct {
	path   string
	header http.Header
}

func (r verReq) String() string {
	out := "GET " + r.path
	for _, k := range sortedHeaderNames(r.header) {
		out += fmt.Sprintf(" with %s: %s", k, r.header.Get(k))
	}
	return out
}

func sortedHeaderNames(h http.Header) []string {
	var ks []string
	for k := range h {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// versionVariant asks for an older (or shadow) version of op, with a control that asks for
// a version that cannot exist.
type versionVariant struct {
	op *target.Operation
	// kind is "path", "header", "query" or "shadow" (a /legacy/-style path).
	kind string
	// oldTmpl is the path template of the old version, for findings.
	oldTmpl       string
	documented    bool
	cur, old, ctl verReq
}

// Bounds on the variants tried.
const (
	maxParamVariants = 3
	// shadowWords are path segments under which old or unlisted versions often hide.
)

var shadowWords = []string{"legacy", "old", "beta", "internal"}

// versionParam matches parameter names that select an API version.
var versionParam = regexp.MustCompile(`(?i)^(x-)?(api-?)?version$|^accept-version$|^api-version$`)

// versionValue matches a version value: 2, v2, 2.0, v2.1, or a vendor media type with .v2+.
var versionValue = regexp.MustCompile(`^([vV]?)(\d{1,4})(\.\d{1,4})?$|\.v(\d{1,4})\+`)

// olderValue returns an older value of a version parameter and a control value.
func olderValue(v string) (older, control string, ok bool) {
	m := versionValue.FindStringSubmatchIndex(v)
	if m == nil {
		return "", "", false
	}
	if m[8] >= 0 { // media type: application/vnd.x.v2+json
		n, _ := strconv.Atoi(v[m[8]:m[9]])
		if n < 2 {
			return "", "", false
		}
		return v[:m[8]] + strconv.Itoa(n-1) + v[m[9]:], v[:m[8]] + "999" + v[m[9]:], true
	}
	n, _ := strconv.Atoi(v[m[4]:m[5]])
	if n < 2 {
		return "", "", false
	}
	suffix := ""
	if m[6] >= 0 {
		suffix = ".0"
	}
	prefix := v[m[2]:m[3]]
	return prefix + strconv.Itoa(n-1) + suffix, prefix + "999" + suffix, true
}

// variants lists what to compare: older path versions, older values of version
// parameters, and shadow paths, within the bounds.
func (c *versionCtx) variants() []versionVariant {
	s := c.s
	documented := func(tmpl string) bool {
		for _, o := range s.Ops(http.MethodGet) {
			if target.MatchPath(o.Path, tmpl) {
				return true
			}
		}
		return false
	}
	var paths, params, shadows []versionVariant
	seen := map[string]bool{}
	for _, op := range s.Ops(http.MethodGet) {
		curPath := FillPath(op, nil)
		if older, control, ok := olderVersions(op.Path); ok {
			for _, o := range older {
				if seen[o] {
					continue
				}
				seen[o] = true
				paths = append(paths, versionVariant{op: op, kind: "path", oldTmpl: o,
					documented: documented(o), cur: verReq{path: curPath},
					old: verReq{path: fillLike(o, op, curPath)},
					ctl: verReq{path: fillLike(control, op, curPath)}})
			}
		}
		for _, p := range op.Params {
			if (p.In != "header" && p.In != "query") || !versionParam.MatchString(p.Name) ||
				p.Schema == nil {
				continue
			}
			cur := fmt.Sprint(Example(p.Schema, p.Name))
			older, control, ok := olderValue(cur)
			if !ok {
				continue
			}
			v := versionVariant{op: op, kind: p.In, oldTmpl: op.Path}
			for _, e := range p.Schema.Enum {
				if fmt.Sprint(e) == older {
					v.documented = true
				}
			}
			mk := func(val string) verReq {
				if p.In == "header" {
					h := http.Header{http.CanonicalHeaderKey(p.Name): {val}}
					return verReq{path: curPath, header: h}
				}
				sep := "?"
				if strings.Contains(curPath, "?") {
					sep = "&"
				}
				return verReq{path: curPath + sep + p.Name + "=" + val}
			}
			v.cur, v.old, v.ctl = mk(cur), mk(older), mk(control)
			params = append(params, v)
		}
	}
	// Shadow paths on one literal GET: /api/items -> /api/legacy/items.
	for _, op := range s.Ops(http.MethodGet) {
		if strings.ContainsAny(op.Path, "{<:") || op.Path == "/" {
			continue
		}
		ctlWord := "apigate" + strings.ToLower(s.Canary)
		for _, w := range shadowWords {
			tmpl := shadowPath(op.Path, w)
			shadows = append(shadows, versionVariant{op: op, kind: "shadow", oldTmpl: tmpl,
				documented: documented(tmpl), cur: verReq{path: op.Path},
				old: verReq{path: tmpl}, ctl: verReq{path: shadowPath(op.Path, ctlWord)}})
		}
		break
	}
	// Literal paths first: they need no parameter values that might not exist.
	sort.SliceStable(paths, func(i, j int) bool {
		return !strings.Contains(paths[i].op.Path, "{") && strings.Contains(paths[j].op.Path, "{")
	})
	if len(paths) > maxVersionOps {
		paths = paths[:maxVersionOps]
	}
	if len(params) > maxParamVariants {
		params = params[:maxParamVariants]
	}
	return slices.Concat(paths, params, shadows)
}

// shadowPath puts word where the version is (/api/v2/x -> /api/legacy/x), or after a leading
// /api (/api/x -> /api/legacy/x), or first (/x -> /legacy/x).
func shadowPath(p, word string) string {
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		if versionSeg.MatchString(seg) {
			segs[i] = word
			return strings.Join(segs, "/")
		}
	}
	if len(segs) > 2 && (segs[1] == "api" || segs[1] == "rest") {
		return strings.Join(slices.Insert(segs, 2, word), "/")
	}
	return strings.Join(slices.Insert(segs, 1, word), "/")
}

// oldVersions compares every variant and summarises. It returns how many were compared,
// shadow paths excluded (they are tried on any API and prove nothing about versioning).
func (c *versionCtx) oldVersions(ctx context.Context, vs []versionVariant) int {
	counts := map[oldOutcome]int{}
	versioned, shadowLive := 0, 0
	for _, v := range vs {
		if opsBroken(c.s) || ctx.Err() != nil {
			if why := brokenWhy(c.s); why != "" {
				c.note("%s", why)
			} else {
				c.note("stopped early: the scan was stopped")
			}
			break
		}
		o := c.compare(ctx, v)
		if v.kind == "shadow" {
			if o == oldLive {
				shadowLive++
			}
			continue
		}
		versioned++
		counts[o]++
	}
	if versioned > 0 {
		c.note("compared %d older versions (by path, header or query) with the current ones: "+
			"%d live, %d not served (non-2xx), %d redirect, %d indistinguishable from a "+
			"version-999 control (catch-all), %d unanswered", versioned, counts[oldLive],
			counts[oldGone], counts[oldRedirects], counts[oldCatchAll], counts[oldUnknown])
	}
	if len(vs) > versioned {
		c.note("%d of %d shadow paths (%s) answer", shadowLive, len(vs)-versioned,
			strings.Join(shadowWords, ", "))
	}
	return versioned
}

type oldOutcome int

const (
	oldUnknown oldOutcome = iota
	oldLive
	oldGone
	oldRedirects
	oldCatchAll
)

func (c *versionCtx) send(ctx context.Context, id *target.Identity, r verReq,
	extra http.Header) (*httpx.Exchange, error) {
	h := r.header.Clone()
	if h == nil {
		h = http.Header{}
	}
	for k, vs := range extra {
		h[k] = vs
	}
	return c.s.Send(ctx, id, http.MethodGet, r.path, nil, h)
}

// compare looks at one variant: is the old version live, is it only a catch-all, is it
// documented, and is it weaker than the current one.
func (c *versionCtx) compare(ctx context.Context, v versionVariant) oldOutcome {
	s := c.s
	id := s.Identity(0)
	if s.Target.IsPublic(v.op) {
		id = nil
	}
	cur, err := c.send(ctx, id, v.cur, nil)
	if err != nil {
		return oldUnknown
	}
	c.checkHeaders(v.op, cur)
	old, err := c.send(ctx, id, v.old, nil)
	if err != nil {
		return oldUnknown
	}
	switch {
	case old.Status >= 300 && old.Status < 400:
		return oldRedirects
	case !Is2xx(old.Status) || LooksLikeError(old.Body):
		return oldGone
	}
	// A catch-all answers any path the same; a header or query version on a real route
	// cannot be one (an ignored value shows up as an alias of the current version instead).
	if v.kind == "path" || v.kind == "shadow" {
		ctl, err := c.send(ctx, id, v.ctl, nil)
		if err == nil && Is2xx(ctl.Status) && (string(ctl.Body) == string(old.Body) ||
			Similarity(ctl.Body, old.Body) >= catchAllSimilarity) {
			return oldCatchAll
		}
	}
	oldOp := &target.Operation{Method: http.MethodGet, Path: v.oldTmpl, Source: v.op.Source}
	c.checkHeaders(oldOp, old)

	weaker := c.weaker(ctx, v, oldOp, cur, old, id)
	alias := Is2xx(cur.Status) && Similarity(cur.Body, old.Body) >= aliasSimilarity && !weaker
	switch {
	case alias:
		c.detail("%s is an alias of %s (same response and protections)", v.old, v.cur)
	case v.documented && !weaker:
		c.detail("%s is a documented older version with the same protections", v.old)
	}
	if !v.documented && !alias {
		what := "older version"
		if v.kind == "shadow" {
			what = "shadow path"
		}
		why := fmt.Sprintf("while the control %s does not answer the same way", v.ctl)
		if v.kind == "header" || v.kind == "query" {
			why = fmt.Sprintf("differently from the current %s", v.cur)
		}
		f := s.NewFinding(RuleVersionOldLive, oldOp, old, finding.ConfidenceHigh,
			fmt.Sprintf("Undocumented %s %s still answers %d", what, v.old, old.Status),
			Truncate(string(old.Body), 300),
			fmt.Sprintf("%s is not in the API description, yet answers %d %s.",
				v.old, old.Status, why))
		if d, ok := ParseDeprecation(old.Header.Get("Deprecation")); ok && d.Conformant {
			f.Severity = finding.SeverityLow // announced as deprecated: known to its owners
		}
		f.Fingerprint = controlFingerprint(f, v.old.String())
		c.add(f)
	}
	return oldLive
}

// weaker re-runs the cheap controls against the old version and reports each one it lacks.
func (c *versionCtx) weaker(ctx context.Context, v versionVariant, oldOp *target.Operation,
	cur, old *httpx.Exchange, id *target.Identity) bool {
	s := c.s
	found := false
	add := func(f finding.Finding, control string, cwe string) {
		f.CWE = []string{"CWE-1059", cwe}
		f.Fingerprint = controlFingerprint(f, control+"\x00"+v.old.String())
		c.add(f)
		found = true
	}
	// Authentication: the current version refuses an anonymous call, the old one serves it.
	if !s.Target.IsPublic(v.op) {
		curAnon, err1 := c.send(ctx, nil, v.cur, nil)
		oldAnon := old
		var err2 error
		if id != nil {
			oldAnon, err2 = c.send(ctx, nil, v.old, nil)
		}
		if err1 == nil && err2 == nil && (curAnon.Status == 401 || curAnon.Status == 403) &&
			Is2xx(oldAnon.Status) && !LooksLikeError(oldAnon.Body) && !EmptyBody(oldAnon.Body) {
			add(s.NewFinding(RuleVersionWeaker, oldOp, oldAnon, finding.ConfidenceHigh,
				fmt.Sprintf("Older version %s answers without authentication", v.old),
				Truncate(string(oldAnon.Body), 300),
				fmt.Sprintf("Without credentials %s answers %d, while the current %s answers %d.",
					v.old, oldAnon.Status, v.cur, curAnon.Status)), "authentication", "CWE-306")
		}
	}
	// CORS: an origin the current version does not trust is allowed on the old one.
	origin := "https://" + strings.ToLower(s.Canary) + ".evil.example"
	h := http.Header{"Origin": {origin}}
	curC, err1 := c.send(ctx, id, v.cur, h)
	oldC, err2 := c.send(ctx, id, v.old, h)
	if err1 == nil && err2 == nil && !allowsOrigin(curC, origin) && allowsOrigin(oldC, origin) {
		f := s.NewFinding(RuleVersionWeaker, oldOp, oldC, finding.ConfidenceHigh,
			fmt.Sprintf("Older version %s allows any CORS origin", v.old),
			HeaderExcerpt(oldC, "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials"),
			fmt.Sprintf("The old version allows Origin %s, which the current %s refuses.",
				origin, v.cur))
		f.Severity = finding.SeverityMedium
		if strings.EqualFold(oldC.Header.Get("Access-Control-Allow-Credentials"), "true") {
			f.Severity = finding.SeverityHigh
		}
		add(f, "cors", "CWE-942")
	}
	// Exposure: sensitive fields that only the old version returns.
	if Is2xx(cur.Status) {
		curKeys := leafKeys(cur.Body)
		var extra []string
		for k := range leafKeys(old.Body) {
			if !curKeys[k] && sensitiveName(k) {
				extra = append(extra, k)
			}
		}
		if len(extra) > 0 {
			sort.Strings(extra)
			add(s.NewFinding(RuleVersionWeaker, oldOp, old, finding.ConfidenceMedium,
				fmt.Sprintf("Older version %s returns fields the current one hides", v.old),
				"fields only in the old version: "+strings.Join(extra, ", "),
				fmt.Sprintf("%s returns %s, which %s no longer returns.", v.old,
					strings.Join(extra, ", "), v.cur)), "exposure", "CWE-213")
		}
	}
	// Headers: protective response headers the current version sends and the old one lacks.
	var missing []string
	for _, name := range []string{"X-Content-Type-Options", "Cache-Control",
		"Strict-Transport-Security", "Content-Security-Policy"} {
		if cur.Header.Get(name) != "" && old.Header.Get(name) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		f := s.NewFinding(RuleVersionWeaker, oldOp, old, finding.ConfidenceHigh,
			fmt.Sprintf("Older version %s lacks security headers the current one sends", v.old),
			"missing on the old version: "+strings.Join(missing, ", "),
			fmt.Sprintf("%s sends %s; %s does not.", v.cur, strings.Join(missing, ", "), v.old))
		f.Severity = finding.SeverityLow
		add(f, "headers", "CWE-16")
	}
	return found
}

// fillLike fills the parameters of tmpl (an older-version template of op) with the values
// used for op's current path, so both name the same object.
func fillLike(tmpl string, op *target.Operation, curPath string) string {
	ts, cs := strings.Split(tmpl, "/"), strings.Split(curPath, "/")
	if len(ts) != len(cs) || len(strings.Split(op.Path, "/")) != len(cs) {
		return tmpl
	}
	for i := range ts {
		if target.IsParam(ts[i]) {
			ts[i] = cs[i]
		}
	}
	return strings.Join(ts, "/")
}
