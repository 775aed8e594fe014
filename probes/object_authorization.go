package probes

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

// Rules of the object-authorization check.
var (
	RuleBOLARead = Rule{
		ID: "bola-read", Check: finding.CheckObjectAuthorization,
		Title:    "Another user's object can be read",
		Severity: finding.SeverityHigh, OWASP: "API1:2023",
		CWE:     []string{"CWE-639", "CWE-285", "CWE-284"},
		Summary: "User B read an object that user A had just created, by its id.",
		Help: "Any user can read any object by changing the id in the URL. Check on every " +
			"request that the object belongs to (or is shared with) the caller, for example by " +
			"scoping the database query to the caller's id rather than loading by id alone.",
	}
	RuleBOLAWrite = Rule{
		ID: "bola-write", Check: finding.CheckObjectAuthorization,
		Title:    "Another user's object can be changed",
		Severity: finding.SeverityHigh, OWASP: "API1:2023",
		CWE:     []string{"CWE-639", "CWE-285", "CWE-284"},
		Summary: "User B changed an object of user A; A read the change back.",
		Help: "Any user can overwrite other users' data. Enforce ownership in the update " +
			"path itself (a WHERE owner = caller clause, or a policy check), not only on reads.",
	}
	RuleBOLADelete = Rule{
		ID: "bola-delete", Check: finding.CheckObjectAuthorization,
		Title:    "Another user's object can be deleted",
		Severity: finding.SeverityHigh, OWASP: "API1:2023",
		CWE:     []string{"CWE-639", "CWE-285", "CWE-284"},
		Summary: "User B deleted an object of user A; A found it gone.",
		Help: "Any user can destroy other users' data. Check ownership before deleting and " +
			"answer 404 for objects the caller may not see.",
	}
	RuleBOLAUseAfterFree = Rule{
		ID: "bola-use-after-free", Check: finding.CheckObjectAuthorization,
		Title:    "Deleted object still readable",
		Severity: finding.SeverityMedium, CWE: []string{"CWE-672"}, OWASP: "API1:2023",
		Summary: "An object answered 2xx to its delete and was still served afterwards.",
		Help: "Users expect deleted data to be gone. Make deletes effective (or make soft-" +
			"deleted objects invisible to every read path) and answer 404 or 410 afterwards.",
	}
)

type objectAuthorization struct{}

// NewObjectAuthorization returns the probe of checklist item 3: with two identities, one
// user cannot read, change or delete the other's freshly created objects.
func NewObjectAuthorization() Probe { return objectAuthorization{} }

func (objectAuthorization) Check() finding.Check { return finding.CheckObjectAuthorization }

func (objectAuthorization) Rules() []Rule {
	return []Rule{RuleBOLARead, RuleBOLAWrite, RuleBOLADelete, RuleBOLAUseAfterFree}
}

const bolaMaxResources = 4

func (objectAuthorization) Run(ctx context.Context, s *Session) Verdict {
	a, b := s.Identity(0), s.Identity(1)
	if a == nil || b == nil {
		return NotTested(fmt.Sprintf("needs two identities to act as owner and intruder; "+
			"%d configured", len(s.Target.Identities)))
	}
	rs := findResources(s.Target.Operations)
	if len(rs) == 0 {
		return NotTested("no create operation (POST /things) with a matching item operation " +
			"(GET /things/{id}) to create private objects with")
	}
	if len(rs) > bolaMaxResources {
		rs = rs[:bolaMaxResources]
	}
	if why := distinctUsers(ctx, s, a, b); why != "" {
		return NotTested(why)
	}
	run := &bolaRun{s: s, ctx: ctx, a: a, b: b}
	for i, r := range rs {
		if ctx.Err() != nil {
			break
		}
		run.resource(r, i)
	}
	return run.verdict()
}

// distinctUsers checks the two-user traps before anything is created: both identities
// being one account (every "intrusion" would be the owner's own access), or the intruder
// being an administrator (who may read everything by design). It returns why the check
// cannot run, or "".
func distinctUsers(ctx context.Context, s *Session, a, b *target.Identity) string {
	if a.Token() != "" && a.Token() == b.Token() {
		return fmt.Sprintf("%s and %s use the same token: two different plain users are needed",
			a.Name, b.Name)
	}
	me := meOp(s.Target.Operations, http.MethodGet)
	if me == nil || len(PathParams(me.Path)) > 0 {
		return ""
	}
	ra, _ := s.Send(ctx, a, http.MethodGet, me.Path, nil, nil)
	rb, _ := s.Send(ctx, b, http.MethodGet, me.Path, nil, nil)
	if ra == nil || rb == nil || !Is2xx(ra.Status) || !Is2xx(rb.Status) {
		return ""
	}
	oa, ob := decodeObject(ra.Body), decodeObject(rb.Body)
	for _, k := range []string{"id", "user_id", "userId", "uuid", "username", "email"} {
		if va, vb := scalarString(oa[k]), scalarString(ob[k]); va != "" && va == vb {
			return fmt.Sprintf("%s and %s are the same account (%s %s): two different plain users are needed",
				a.Name, b.Name, k, va)
		}
	}
	if isAdminRecord(ob) {
		return fmt.Sprintf("%s's own record (%s) says it is an administrator, who may read other "+
			"users' objects by design: make the second identity a plain user", b.Name, me.Path)
	}
	return ""
}

// isAdminRecord reads a user record's role and admin flags.
func isAdminRecord(obj map[string]any) bool {
	for k, v := range obj {
		switch normKey(k) {
		case "isadmin", "admin", "isstaff", "issuperuser", "superuser":
			if b, ok := v.(bool); ok && b {
				return true
			}
		case "role", "roles", "usertype", "accounttype":
			if strings.Contains(strings.ToLower(fmt.Sprint(v)), "admin") {
				return true
			}
		}
	}
	return false
}

// bolaRun is the state of one run: A owns, B intrudes.
type bolaRun struct {
	s    *Session
	ctx  context.Context
	a, b *target.Identity

	findings []finding.Finding
	tested   []string // resources fully tested
	skipped  []string // resources skipped, with the reason
	actions  map[string]bool
}

func (br *bolaRun) note(action string) {
	if br.actions == nil {
		br.actions = map[string]bool{}
	}
	br.actions[action] = true
}

// resource runs the set-up, controls and attacks of detection-notes §3 on one resource.
func (br *bolaRun) resource(r *resource, n int) {
	s, ctx := br.s, br.ctx
	mA := fmt.Sprintf("%s-a%d", s.Canary, n)
	mB := fmt.Sprintf("%s-b%d", s.Canary, n)
	oa, err := s.createObject(ctx, br.a, r, mA)
	if err != nil {
		br.skip(r, fmt.Sprintf("%s could not create an object (%v)", br.a.Name, err))
		return
	}
	// oa is the evidence object of the read, listing and update attacks: kept after the
	// scan when a finding cites it, so its curl lines reproduce. The delete attacks use a
	// throwaway object of their own.
	keepA, cited := false, len(br.findings)
	defer func() {
		if !keepA {
			s.deleteObject(ctx, br.a, r, oa)
		}
	}()
	ob, err := s.createObject(ctx, br.b, r, mB)
	if err != nil {
		br.skip(r, fmt.Sprintf("%s could not create an object (%v)", br.b.Name, err))
		return
	}
	defer s.deleteObject(ctx, br.b, r, ob)

	pathA := r.ItemPath(r.Read, oa)
	ownRead := func() *httpx.Exchange {
		ex, _ := s.Send(ctx, br.a, http.MethodGet, pathA, nil, nil)
		if ex == nil || !Is2xx(ex.Status) || !strings.Contains(string(ex.Body), mA) {
			return nil
		}
		return ex
	}
	rAA := ownRead()
	if rAA == nil {
		// Eventually consistent stores may need a moment before a new object reads back.
		select {
		case <-ctx.Done():
		case <-time.After(300 * time.Millisecond):
			rAA = ownRead()
		}
	}
	if rAA == nil {
		br.skip(r, fmt.Sprintf("%s could not read its own new object back", br.a.Name))
		return
	}
	rBB, _ := s.Send(ctx, br.b, http.MethodGet, r.ItemPath(r.Read, ob), nil, nil)
	missing := &object{ID: missingID(oa.ID, s.Canary), Parent: ob.Parent}
	rBx, _ := s.Send(ctx, br.b, http.MethodGet, r.ItemPath(r.Read, missing), nil, nil)
	br.tested = append(br.tested, r.Create.Path)

	// Read.
	br.note("read")
	rBA, _ := s.Send(ctx, br.b, http.MethodGet, pathA, nil, nil)
	conf, why := judgeBOLARead(rBA, rAA, rBB, rBx, mA)
	if conf != "" {
		br.findings = append(br.findings, s.NewFinding(RuleBOLARead, r.Read, rBA, conf,
			fmt.Sprintf("%s can read %s's %s by id", br.b.Name, br.a.Name, r.Singular()),
			safeExcerpt(rBA.Body, 400),
			fmt.Sprintf("%s created %s %s; %s requested it with its own credentials and got %d, %s.",
				br.a.Name, r.Singular(), oa.ID, br.b.Name, rBA.Status, why)))
	}

	// Listing: the collection as B must not include A's object.
	if conf == "" {
		br.listing(r, oa)
	}

	// Another parent: B reaches A's object through B's own branch of a nested collection
	// (/users/{B}/orders/{A's order}).
	if conf == "" && r.Parent != "" && ob.Parent != oa.Parent {
		br.note("read through another parent")
		alt := r.ItemPath(r.Read, &object{ID: oa.ID, Parent: ob.Parent})
		ex, _ := s.Send(ctx, br.b, http.MethodGet, alt, nil, nil)
		if ex != nil && Is2xx(ex.Status) && strings.Contains(string(ex.Body), mA) {
			br.findings = append(br.findings, s.NewFinding(RuleBOLARead, r.Read, ex,
				finding.ConfidenceHigh,
				fmt.Sprintf("%s can read %s's %s through its own %s", br.b.Name, br.a.Name,
					r.Singular(), r.Parent),
				markerExcerpt(ex.Body, mA),
				fmt.Sprintf("%s created %s %s under its own %s; %s requested it under %s's %s and "+
					"got %d with the owner's marker value.", br.a.Name, r.Singular(), oa.ID,
					r.Parent, br.b.Name, br.b.Name, r.Parent, ex.Status)))
		}
	}

	// Update, confirmed by the owner reading the change back.
	if up := pickUpdate(r); up != nil {
		br.note("update")
		if f, ok := br.tryUpdate(r, up, oa, pathA, rAA.Body); ok {
			br.findings = append(br.findings, f)
		}
	}

	keepA = keepCited(br.findings, cited, r.Singular(), oa.ID, mA)

	if r.Delete != nil {
		br.deletes(r, fmt.Sprintf("%s-d%d", s.Canary, n))
	}
}

// deletes runs the delete attack and the use-after-free control on a throwaway object of
// A's, so the object the other findings cite survives them.
func (br *bolaRun) deletes(r *resource, marker string) {
	s, ctx := br.s, br.ctx
	ov, err := s.createObject(ctx, br.a, r, marker)
	if err != nil {
		br.skip(r, fmt.Sprintf("delete not tested: %s could not create a second object (%v)",
			br.a.Name, err))
		return
	}
	gone := false
	defer func() {
		if !gone {
			s.deleteObject(ctx, br.a, r, ov)
		}
	}()
	path := r.ItemPath(r.Read, ov)

	// Delete, confirmed by the owner finding the object gone.
	br.note("delete")
	ex, _ := s.Send(ctx, br.b, r.Delete.Method, r.ItemPath(r.Delete, ov), nil, nil)
	if ex != nil && Is2xx(ex.Status) {
		back, _ := s.Send(ctx, br.a, http.MethodGet, path, nil, nil)
		if back != nil && (back.Status == http.StatusNotFound || back.Status == http.StatusGone) {
			gone = true
			br.findings = append(br.findings, s.NewFinding(RuleBOLADelete, r.Delete, ex,
				finding.ConfidenceHigh,
				fmt.Sprintf("%s can delete %s's %s by id", br.b.Name, br.a.Name, r.Singular()),
				safeExcerpt(ex.Body, 200),
				fmt.Sprintf("%s deleted %s's %s %s (answer %d); %s then got %d reading it. "+
					"That %s was created for this attack and is gone: to reproduce, create "+
					"one as %s and put its id in the line.", br.b.Name, br.a.Name,
					r.Singular(), ov.ID, ex.Status, br.a.Name, back.Status, r.Singular(),
					br.a.Name)))
			return
		}
	}

	// Use after free: the owner deletes its object and reads it again.
	br.note("read after delete")
	ex, _ = s.Send(ctx, br.a, r.Delete.Method, r.ItemPath(r.Delete, ov), nil, nil)
	if ex == nil || !Is2xx(ex.Status) {
		return
	}
	gone = true
	back, _ := s.Send(ctx, br.a, http.MethodGet, path, nil, nil)
	if back != nil && Is2xx(back.Status) && strings.Contains(string(back.Body), marker) {
		br.findings = append(br.findings, s.NewFinding(RuleBOLAUseAfterFree, r.Read, back,
			finding.ConfidenceHigh,
			fmt.Sprintf("Deleted %s is still served", r.Singular()),
			safeExcerpt(back.Body, 300),
			fmt.Sprintf("%s deleted its %s %s (answer %d) and could still read it with %d.",
				br.a.Name, r.Singular(), ov.ID, ex.Status, back.Status)))
	}
}

// listing reads the collection as B; A's marker in it means B is served A's object.
func (br *bolaRun) listing(r *resource, oa *object) {
	markerA := oa.Marker
	var list *target.Operation
	for _, op := range br.s.Target.Operations {
		if op.Path == r.Create.Path && strings.EqualFold(op.Method, http.MethodGet) {
			list = op
		}
	}
	if list == nil {
		return
	}
	br.note("list")
	ex, _ := br.s.Send(br.ctx, br.b, http.MethodGet,
		withRequiredQuery(list, r.CollectionPath(list, oa.Parent)), nil, nil)
	if ex == nil || !Is2xx(ex.Status) || !strings.Contains(string(ex.Body), markerA) {
		return
	}
	br.findings = append(br.findings, br.s.NewFinding(RuleBOLARead, list, ex,
		finding.ConfidenceHigh,
		fmt.Sprintf("%s's listing of %s includes %s's %s", br.b.Name, r.Name(), br.a.Name,
			r.Singular()),
		markerExcerpt(ex.Body, markerA),
		fmt.Sprintf("%s created a %s carrying the value %q; %s listed %s and got it back.",
			br.a.Name, r.Singular(), markerA, br.b.Name, r.CollectionPath(list, oa.Parent))))
}

// markerExcerpt shows the part of a body around the marker, secrets masked.
func markerExcerpt(body []byte, marker string) string {
	s := safeExcerpt(body, 1<<20)
	i := strings.Index(s, marker)
	if i < 0 {
		return Truncate(s, 400)
	}
	start := max(0, i-150)
	end := min(len(s), i+len(marker)+150)
	for start > 0 && start < len(s) && (s[start]&0xC0) == 0x80 {
		start--
	}
	for end < len(s) && (s[end]&0xC0) == 0x80 {
		end++
	}
	return "…" + s[start:end] + "…"
}

func (br *bolaRun) skip(r *resource, why string) {
	br.skipped = append(br.skipped, r.Create.Path+": "+why)
}

// judgeBOLARead applies the decision procedure: A's marker in B's answer is proof; a close
// copy of A's view that is neither B's own object nor the generic not-found answer is a
// medium-confidence finding; anything else passes.
func judgeBOLARead(rBA, rAA, rBB, rBx *httpx.Exchange, marker string) (finding.Confidence, string) {
	if rBA == nil || !Is2xx(rBA.Status) || EmptyBody(rBA.Body) || LooksLikeError(rBA.Body) {
		return "", ""
	}
	if strings.Contains(string(rBA.Body), marker) {
		return finding.ConfidenceHigh, "containing the owner's marker value"
	}
	sim := Similarity(rBA.Body, rAA.Body)
	if sim < 0.9 {
		return "", ""
	}
	if rBB != nil && Is2xx(rBB.Status) && Similarity(rBA.Body, rBB.Body) >= 0.9 {
		return "", "" // the endpoint ignores the id and serves the caller's own object
	}
	if rBx != nil && Is2xx(rBx.Status) && Similarity(rBA.Body, rBx.Body) >= 0.9 {
		return "", "" // a generic answer, the same for an id that does not exist
	}
	return finding.ConfidenceMedium, fmt.Sprintf("%.0f%% similar to the owner's own view", sim*100)
}

// pickUpdate prefers PATCH, which changes one field, over PUT.
func pickUpdate(r *resource) *target.Operation {
	var put *target.Operation
	for _, u := range r.Update {
		if strings.EqualFold(u.Method, http.MethodPatch) {
			return u
		}
		put = u
	}
	return put
}

// updateBody changes one field of the object: alone for PATCH, in the full body for PUT.
func updateBody(op *target.Operation, o *object, field, value string) map[string]any {
	if strings.EqualFold(op.Method, http.MethodPut) {
		b := cloneMap(o.Body)
		b[field] = value
		return b
	}
	return map[string]any{field: value}
}

func (br *bolaRun) tryUpdate(r *resource, up *target.Operation, oa *object,
	pathA string, stored []byte) (finding.Finding, bool) {
	s, ctx := br.s, br.ctx
	field := markedField(oa.Body, oa.Marker, stored)
	if field == "" {
		return finding.Finding{}, false
	}
	changed := oa.Marker + "-by-" + br.b.Name
	ex, _ := s.Send(ctx, br.b, up.Method, r.ItemPath(up, oa), updateBody(up, oa, field, changed),
		nil)
	if ex == nil || !Is2xx(ex.Status) {
		return finding.Finding{}, false
	}
	back, _ := s.Send(ctx, br.a, http.MethodGet, pathA, nil, nil)
	if back == nil || !Is2xx(back.Status) || !strings.Contains(string(back.Body), changed) {
		return finding.Finding{}, false
	}
	// Put the owner's value back.
	_, _ = s.Send(ctx, br.a, up.Method, r.ItemPath(up, oa), updateBody(up, oa, field, oa.Marker),
		nil)
	return s.NewFinding(RuleBOLAWrite, up, ex, finding.ConfidenceHigh,
		fmt.Sprintf("%s can change %s's %s by id", br.b.Name, br.a.Name, r.Singular()),
		fmt.Sprintf("%s read back: %s", br.a.Name, safeExcerpt(back.Body, 300)),
		fmt.Sprintf("%s set %q of %s's %s %s to %q (answer %d); %s then read the new value back.",
			br.b.Name, field, br.a.Name, r.Singular(), oa.ID, changed, ex.Status, br.a.Name)), true
}

// missingID is an id of the same shape as a real one that no object has.
func missingID(real, canary string) string {
	switch {
	case strings.Trim(real, "0123456789") == "":
		return "987654321"
	case reUUID.MatchString(real):
		return "00000000-0000-4000-8000-00000000a9e7"
	}
	return "apigate-missing-" + canary
}

func (br *bolaRun) verdict() Verdict {
	var acts []string
	for _, a := range []string{"read", "read through another parent", "list", "update", "delete"} {
		if br.actions[a] {
			acts = append(acts, a)
		}
	}
	uaf := ""
	if br.actions["read after delete"] {
		uaf = "; objects deleted by their owner were gone afterwards"
	}
	skipped := ""
	if len(br.skipped) > 0 {
		skipped = "; skipped " + strings.Join(capList(br.skipped, 3), "; ")
	}
	if len(br.findings) > 0 {
		return Fail(fmt.Sprintf("%d finding(s) on %s (tried %s as %s on objects of %s)%s",
			len(br.findings), strings.Join(br.tested, ", "), strings.Join(acts, ", "),
			br.b.Name, br.a.Name, skipped), br.findings...)
	}
	if len(br.tested) == 0 {
		return NotTested("no resource could be tested" + skipped)
	}
	return Pass(fmt.Sprintf("%s could not %s objects %s had just created in %s%s%s",
		br.b.Name, orList(acts), br.a.Name, strings.Join(br.tested, ", "), uaf, skipped))
}

// orList joins words as "a", "a or b", "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
