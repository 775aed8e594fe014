package probes

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

// Rules of the mass-assignment check.
var (
	RuleMassPrivilege = Rule{
		ID: "mass-assignment-privilege", Check: finding.CheckMassAssignment,
		Title:    "Role or admin flag writable through the request body",
		Severity: finding.SeverityHigh, CWE: []string{"CWE-915"}, OWASP: "API3:2023",
		Summary: "A user set a role, admin or permission field of its own record and it was stored.",
		Help: "Any user can make itself an administrator. Bind request bodies to a type that " +
			"lists only the fields the caller may change, and ignore or refuse the others " +
			"(readOnly properties included).",
	}
	RuleMassFinancial = Rule{
		ID: "mass-assignment-financial", Check: finding.CheckMassAssignment,
		Title:    "Price, balance or plan writable through the request body",
		Severity: finding.SeverityHigh, CWE: []string{"CWE-915"}, OWASP: "API3:2023",
		Summary: "A user set a server-computed price, balance, credit or plan field and it was stored.",
		Help: "Users can set their own prices or balances. Compute such values on the server " +
			"and never copy them from the request; accept only an allow-list of fields.",
	}
	RuleMassOwnership = Rule{
		ID: "mass-assignment-ownership", Check: finding.CheckMassAssignment,
		Title:    "Owner or tenant writable through the request body",
		Severity: finding.SeverityHigh, CWE: []string{"CWE-915"}, OWASP: "API3:2023",
		Summary: "A user set the owner, user or tenant id of an object and it was stored.",
		Help: "Users can plant objects in other accounts or move them between tenants. Take " +
			"the owner from the authenticated caller, never from the body.",
	}
	RuleMassProperty = Rule{
		ID: "mass-assignment-property", Check: finding.CheckMassAssignment,
		Title:    "Read-only property writable through the request body",
		Severity: finding.SeverityMedium, CWE: []string{"CWE-915"}, OWASP: "API3:2023",
		Summary: "A property the API documents as read-only, or a status or verification flag, was stored from a request.",
		Help: "Server-owned state (status, verified flags, read-only properties) can be set by " +
			"the client. Ignore or refuse read-only properties when binding request bodies.",
	}
)

type massAssignment struct{}

// NewMassAssignment returns the probe for mass assignment: server-owned fields sent in a
// create or update body are not stored.
func NewMassAssignment() Probe { return massAssignment{} }

func (massAssignment) Check() finding.Check { return finding.CheckMassAssignment }

func (massAssignment) Rules() []Rule {
	return []Rule{RuleMassPrivilege, RuleMassFinancial, RuleMassOwnership, RuleMassProperty}
}

// Late: the probe changes users' own records (and puts them back), so it runs alone, after
// the concurrent probes, rather than under their feet.
func (massAssignment) Late() int { return 0 }

const (
	massMaxFields    = 8
	massMaxResources = 3
)

func (massAssignment) Run(ctx context.Context, s *Session) Verdict {
	a := s.Identity(0)
	if a == nil {
		return NotTested("needs an identity: fields are injected into the caller's own " +
			"records and read back as the same user")
	}
	m := &massRun{s: s, ctx: ctx, a: a, b: s.Identity(1)}
	m.bID = m.identityID(m.b)
	if me := meOp(s.Target.Operations, http.MethodGet); me != nil && len(PathParams(me.Path)) == 0 {
		if obj, _ := m.readObject(a, me.Path); isAdminRecord(obj) {
			// An administrator may change roles by design; such a change proves nothing.
			m.aAdmin = true
			m.skipped = append(m.skipped, fmt.Sprintf("role and admin fields (%s is an "+
				"administrator, who may set them by design)", a.Name))
		}
	}
	m.profile()
	rs := findResources(s.Target.Operations)
	if len(rs) > massMaxResources {
		rs = rs[:massMaxResources]
	}
	for _, r := range rs {
		if ctx.Err() != nil {
			break
		}
		m.resource(r)
	}
	return m.verdict()
}

// massRun is the state of one run.
type massRun struct {
	s    *Session
	ctx  context.Context
	a, b *target.Identity
	bID  any // B's user id, the value injected into owner fields
	// aAdmin is set when A is an administrator: privilege fields are then not judged.
	aAdmin bool

	findings []finding.Finding
	tried    int      // fields injected
	targets  []string // operations injected into
	echoes   []string // fields echoed by a write but not stored
	skipped  []string
}

// massCategory sorts a field into a rule by its name.
func massCategory(name string) (Rule, bool) {
	n := normKey(name)
	switch n {
	case "role", "roles", "userrole", "usertype", "accounttype", "isadmin", "admin", "isstaff",
		"issuperuser", "superuser", "permissions", "scopes", "groups", "privileges", "level":
		return RuleMassPrivilege, true
	case "balance", "credit", "credits", "wallet", "points", "price", "amount", "discount",
		"total", "cost", "plan", "tier", "subscription", "ispremium", "isvip", "quota":
		return RuleMassFinancial, true
	case "ownerid", "owner", "userid", "accountid", "tenantid", "orgid", "organizationid",
		"customerid", "createdby":
		return RuleMassOwnership, true
	case "verified", "isverified", "emailverified", "isactive", "active", "approved",
		"isapproved", "status", "state", "confirmed", "isconfirmed":
		return RuleMassProperty, true
	}
	return Rule{}, false
}

// candidates are the fields worth injecting into op: present in the object as read back
// (or in the documented response) and either privileged by name or server-owned by the
// schema (readOnly, or in the response but not the request). Fields the request schema
// lists as writable are writable by design and left alone.
func candidates(op *target.Operation, read *target.Operation, object map[string]any) []string {
	present := map[string]bool{}
	for k := range object {
		present[k] = true
	}
	var respProps map[string]*target.Schema
	if read != nil && read.Response != nil {
		respProps = read.Response.Properties
		for k := range respProps {
			present[k] = true
		}
	}
	var req map[string]*target.Schema
	if op.RequestBody != nil {
		req = op.RequestBody.Properties
	}
	var out []string
	for k := range present {
		nk := normKey(k)
		stamp := strings.HasSuffix(k, "_at") || strings.HasSuffix(k, "At")
		if nk == "id" || nk == "uuid" || stamp ||
			strings.Contains(nk, "password") || strings.Contains(nk, "token") || nk == "apikey" {
			continue
		}
		_, named := massCategory(k)
		p, inReq := req[k]
		readOnly := inReq && p.ReadOnly || respProps[k] != nil && respProps[k].ReadOnly
		writable := inReq && !p.ReadOnly
		if writable {
			continue
		}
		serverOwned := readOnly || req != nil && respProps[k] != nil && !inReq
		if named || serverOwned {
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return massRank(out[i]) < massRank(out[j]) })
	if len(out) > massMaxFields {
		out = out[:massMaxFields]
	}
	return out
}

func massRank(k string) string {
	r, ok := massCategory(k)
	switch {
	case !ok:
		return "4" + k
	case r.ID == RuleMassPrivilege.ID:
		return "0" + k
	case r.ID == RuleMassFinancial.ID:
		return "1" + k
	case r.ID == RuleMassOwnership.ID:
		return "2" + k
	}
	return "3" + k
}

// injectValue chooses a value for field unlike the current one, or reports that none fits.
func (m *massRun) injectValue(field string, current any, schema *target.Schema) (any, bool) {
	rule, _ := massCategory(field)
	if m.aAdmin && rule.ID == RuleMassPrivilege.ID {
		return nil, false
	}
	if rule.ID == RuleMassOwnership.ID {
		if m.bID == nil || fmt.Sprint(m.bID) == fmt.Sprint(current) {
			return nil, false
		}
		return m.bID, true
	}
	if schema != nil && len(schema.Enum) > 0 {
		for _, e := range schema.Enum {
			if fmt.Sprint(e) != fmt.Sprint(current) {
				if rule.ID == RuleMassPrivilege.ID &&
					strings.Contains(strings.ToLower(fmt.Sprint(schema.Enum)), "admin") &&
					!strings.Contains(strings.ToLower(fmt.Sprint(e)), "admin") {
					continue
				}
				return e, true
			}
		}
		return nil, false
	}
	n := normKey(field)
	switch c := current.(type) {
	case bool:
		return !c, true
	case json.Number, float64:
		f, _ := toFloat(c)
		switch {
		case strings.Contains(n, "price") || strings.Contains(n, "amount") ||
			strings.Contains(n, "cost") ||
			strings.Contains(n, "total"):
			if f == 0.01 {
				return 0.02, true
			}
			return 0.01, true
		case rule.ID == RuleMassOwnership.ID:
			return nil, false
		}
		return f + 999999, true
	case []any:
		return []any{"admin"}, true
	}
	if current == nil && schema != nil && schema.Type == "boolean" {
		return true, true
	}
	cur := strings.ToLower(fmt.Sprint(current))
	switch {
	case rule.ID == RuleMassPrivilege.ID:
		if n == "admin" || strings.HasPrefix(n, "is") {
			return true, true
		}
		if cur == "admin" {
			return "superadmin", true
		}
		return "admin", true
	case n == "status" || n == "state":
		if cur == "approved" {
			return "verified", true
		}
		return "approved", true
	case rule.ID == RuleMassFinancial.ID:
		if cur == "enterprise" {
			return "premium", true
		}
		return "enterprise", true
	}
	return "apigate-" + m.s.Canary, true
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// sameValue compares a stored JSON value with the injected one.
func sameValue(stored, injected any) bool {
	if a, ok := toFloat(stored); ok {
		switch b := injected.(type) {
		case float64:
			return a == b
		case int64:
			return a == float64(b)
		case json.Number:
			f, _ := b.Float64()
			return a == f
		}
	}
	sb, _ := json.Marshal(stored)
	ib, _ := json.Marshal(injected)
	return string(sb) == string(ib)
}

// readObject reads a JSON object as id; nil when the answer is not a 2xx object.
func (m *massRun) readObject(id *target.Identity, path string) (map[string]any, *httpx.Exchange) {
	ex, err := m.s.Send(m.ctx, id, http.MethodGet, path, nil, nil)
	if err != nil || !Is2xx(ex.Status) {
		return nil, ex
	}
	obj := decodeObject(ex.Body)
	return obj, ex
}

func decodeObject(b []byte) map[string]any {
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	var obj map[string]any
	if d.Decode(&obj) != nil {
		return nil
	}
	for _, k := range []string{"data", "user", "item", "result"} {
		if inner, ok := obj[k].(map[string]any); ok && len(obj) <= 2 {
			return inner
		}
	}
	return obj
}

// identityID is an identity's own user id, read from its /me record.
func (m *massRun) identityID(id *target.Identity) any {
	if id == nil {
		return nil
	}
	me := meOp(m.s.Target.Operations, http.MethodGet)
	if me == nil || len(PathParams(me.Path)) > 0 {
		return nil
	}
	obj, _ := m.readObject(id, me.Path)
	for _, k := range []string{"id", "user_id", "userId", "uuid"} {
		if v, ok := obj[k]; ok {
			if n, isNum := v.(json.Number); isNum {
				if i, err := n.Int64(); err == nil {
					return i
				}
			}
			return v
		}
	}
	return nil
}

// profile injects fields into the caller's own record (PATCH or PUT /me) and reads it back.
func (m *massRun) profile() {
	get := meOp(m.s.Target.Operations, http.MethodGet)
	if get == nil || len(PathParams(get.Path)) > 0 {
		return
	}
	var upd *target.Operation
	for _, method := range []string{http.MethodPatch, http.MethodPut} {
		if op := meOp(m.s.Target.Operations, method); op != nil && op.Path == get.Path {
			upd = op
			break
		}
	}
	if upd == nil {
		return
	}
	base, _ := m.readObject(m.a, get.Path)
	if base == nil {
		m.skipped = append(m.skipped, get.Path+" (the profile could not be read)")
		return
	}
	m.targets = append(m.targets, upd.Method+" "+upd.Path)
	for _, field := range candidates(upd, get, base) {
		if m.ctx.Err() != nil {
			return
		}
		m.inject(upd, upd.Path, get.Path, base, field, writableBody(upd, base))
	}
}

// writableBody is the body a PUT needs besides the injected field: the record's writable
// fields as read. PATCH sends only the injected field.
func writableBody(op *target.Operation, obj map[string]any) map[string]any {
	if !strings.EqualFold(op.Method, http.MethodPut) {
		return map[string]any{}
	}
	out := map[string]any{}
	for k, v := range obj {
		if op.RequestBody != nil {
			p, ok := op.RequestBody.Properties[k]
			if !ok || p.ReadOnly {
				continue
			}
		} else if _, priv := massCategory(k); priv || normKey(k) == "id" {
			continue
		}
		out[k] = v
	}
	return out
}

// inject sends one field through op at path, reads readPath back as the same user, and
// restores the old value when the new one was stored.
func (m *massRun) inject(op *target.Operation, path, readPath string, base map[string]any,
	field string, body map[string]any) {
	var schema *target.Schema
	if op.RequestBody != nil {
		schema = op.RequestBody.Properties[field]
	}
	val, ok := m.injectValue(field, base[field], schema)
	if !ok {
		return
	}
	m.tried++
	b := cloneMap(body)
	b[field] = val
	ex, err := m.s.Send(m.ctx, m.a, op.Method, path, b, nil)
	if err != nil || !Is2xx(ex.Status) {
		return
	}
	owner := m.a
	back, backEx := m.readObject(m.a, readPath)
	if back == nil && m.b != nil {
		owner = m.b // the object may have moved to B
		back, backEx = m.readObject(m.b, readPath)
	}
	if back == nil || !sameValue(back[field], val) {
		if obj := decodeObject(ex.Body); obj != nil && sameValue(obj[field], val) {
			m.echoes = append(m.echoes, op.Method+" "+op.Path+" "+field)
		}
		return
	}
	m.report(op, ex, backEx, owner, field, base[field], val)
	restore := cloneMap(body)
	restore[field] = base[field]
	_, _ = m.s.Send(m.ctx, owner, op.Method, path, restore, nil)
}

func (m *massRun) report(op *target.Operation, ex, back *httpx.Exchange, reader *target.Identity,
	field string, old, val any) {
	rule, ok := massCategory(field)
	if !ok {
		rule = RuleMassProperty
	}
	sent, _ := json.Marshal(val)
	was, _ := json.Marshal(old)
	var stored []byte
	if obj := decodeObject(back.Body); obj != nil {
		stored, _ = json.Marshal(obj[field])
	}
	excerpt := fmt.Sprintf("sent:      {%q: %s}\nread back: {%q: %s}\nobject:    %s",
		field, sent, field, stored, safeExcerpt(back.Body, 300))
	f := m.s.NewFinding(rule, op, ex, finding.ConfidenceHigh,
		fmt.Sprintf("%s %s stores %q from the request body", op.Method, op.Path, field),
		excerpt,
		fmt.Sprintf("%s sent %s = %s (%sit was %s); a separate read as %s returned the new value.",
			m.a.Name, field, sent, m.whose(rule, val), was, readerName(m.a, reader)))
	f.Key = field // one finding per injected field, several may hit one operation
	m.findings = append(m.findings, f)
}

// resource injects fields on create and on update of objects the identity creates itself.
func (m *massRun) resource(r *resource) {
	marker := m.s.Canary + "-mass"
	o, err := m.s.createObject(m.ctx, m.a, r, marker)
	if err != nil {
		m.skipped = append(m.skipped, r.Create.Path+" ("+err.Error()+")")
		return
	}
	// The update findings' curl lines point at o: it stays when one cites it (with the
	// injected values put back), so they reproduce. A create finding's POST makes its own.
	keep := false
	defer func() {
		if !keep {
			m.s.deleteObject(m.ctx, m.a, r, o)
		}
	}()
	readPath := r.ItemPath(r.Read, o)
	base, _ := m.readObject(m.a, readPath)
	if base == nil {
		m.skipped = append(m.skipped, r.Create.Path+" (the new object could not be read back)")
		return
	}
	fields := candidates(r.Create, r.Read, base)

	// On create: one new object per field, deleted afterwards.
	m.targets = append(m.targets, r.Create.Method+" "+r.Create.Path)
	for _, field := range fields {
		if m.ctx.Err() != nil {
			return
		}
		m.injectCreate(r, base, field)
	}
	// On update of the object created above.
	if up := pickUpdate(r); up != nil {
		m.targets = append(m.targets, up.Method+" "+up.Path)
		cited := len(m.findings)
		body := writableBody(up, base)
		if strings.EqualFold(up.Method, http.MethodPut) {
			body = cloneMap(o.Body)
		}
		for _, field := range candidates(up, r.Read, base) {
			if m.ctx.Err() != nil {
				return
			}
			m.inject(up, r.ItemPath(up, o), readPath, base, field, body)
		}
		keep = keepCited(m.findings, cited, r.Singular(), o.ID, marker)
	}
}

func (m *massRun) injectCreate(r *resource, base map[string]any, field string) {
	var schema *target.Schema
	if r.Create.RequestBody != nil {
		schema = r.Create.RequestBody.Properties[field]
	}
	val, ok := m.injectValue(field, base[field], schema)
	if !ok {
		return
	}
	m.tried++
	// A fresh marker per object, so collections with unique fields (user names, e-mail
	// addresses) accept every create.
	body := createBody(r.Create, fmt.Sprintf("%s-mass%d", m.s.Canary, m.tried))
	body[field] = val
	parent := ""
	if r.Parent != "" {
		parent = identityUserID(m.ctx, m.s, m.a)
	}
	ex, err := m.s.Send(m.ctx, m.a, r.Create.Method, r.CollectionPath(r.Create, parent), body, nil)
	if err != nil || !Is2xx(ex.Status) {
		return
	}
	oid := extractID(ex, r)
	if oid == "" {
		return
	}
	created := &object{ID: oid, Parent: parent}
	readPath := r.ItemPath(r.Read, created)
	owner := m.a
	back, backEx := m.readObject(m.a, readPath)
	if back == nil && m.b != nil {
		owner = m.b
		back, backEx = m.readObject(m.b, readPath)
	}
	defer m.s.deleteObject(m.ctx, owner, r, created)
	if back == nil || !sameValue(back[field], val) {
		if obj := decodeObject(ex.Body); obj != nil && sameValue(obj[field], val) {
			m.echoes = append(m.echoes, r.Create.Method+" "+r.Create.Path+" "+field)
		}
		return
	}
	m.report(r.Create, ex, backEx, owner, field, base[field], val)
}

// whose names the identity an injected owner value belongs to.
func (m *massRun) whose(rule Rule, val any) string {
	if rule.ID != RuleMassOwnership.ID || m.b == nil || fmt.Sprint(val) != fmt.Sprint(m.bID) {
		return ""
	}
	return m.b.Name + "'s user id; "
}

func readerName(writer, reader *target.Identity) string {
	if reader == writer {
		return "the same user"
	}
	return reader.Name + ", the new owner"
}

func (m *massRun) verdict() Verdict {
	skipped := ""
	if len(m.skipped) > 0 {
		skipped = "; skipped " + strings.Join(capList(m.skipped, 3), "; ")
	}
	echo := ""
	if len(m.echoes) > 0 {
		echo = fmt.Sprintf("; %d field(s) were echoed by the write but not stored (%s)",
			len(m.echoes), strings.Join(capList(m.echoes, 3), ", "))
	}
	if len(m.findings) > 0 {
		return Fail(fmt.Sprintf("%d field(s) stored from request bodies; injected %d field(s) "+
			"one at a time into %s%s%s", len(m.findings), m.tried, strings.Join(m.targets, ", "),
			echo, skipped), m.findings...)
	}
	if m.tried == 0 {
		if len(m.targets) == 0 {
			return NotTested("no create or update operation on an object the caller owns " +
				"(POST /things with GET /things/{id}, or PATCH/PUT /me)" + skipped)
		}
		return NotTested("no server-owned or privileged field found in " +
			strings.Join(m.targets, ", ") + skipped)
	}
	return Pass(fmt.Sprintf("injected %d privileged or read-only field(s) one at a time into %s; "+
		"none was stored (checked by reading back as the same user)%s%s",
		m.tried, strings.Join(m.targets, ", "), echo, skipped))
}
