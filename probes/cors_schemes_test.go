package probes

import (
	"context"
	"testing"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/target"
)

// TestCORSSeverityWithoutIdentities scans the vulnerable demo with alice logged in and with
// no identity at all: its document declares bearer authentication, so a trusted origin is
// graded the same either way.
func TestCORSSeverityWithoutIdentities(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the demo API")
	}
	sevs := func(s *Session) map[string]finding.Severity {
		v := NewCORS().Run(context.Background(), s)
		out := map[string]finding.Severity{}
		for _, f := range v.Findings {
			out[f.Rule] = f.Severity
		}
		return out
	}
	s := demoSession(t, false)
	with := sevs(s)
	s.Target.Identities = nil
	without := sevs(s)
	for _, rule := range []string{RuleCORSNull.ID, RuleCORSReflected.ID} {
		if with[rule] == 0 || with[rule] != without[rule] {
			t.Errorf("%s: %s with identities, %s without", rule, with[rule], without[rule])
		}
	}
	if with[RuleCORSReflected.ID] != finding.SeverityMedium {
		t.Errorf("reflected origin on a bearer API: %s, want medium", with[RuleCORSReflected.ID])
	}
}

func TestAuthKinds(t *testing.T) {
	op := func(kinds ...string) *target.Operation {
		return &target.Operation{Method: "GET", Path: "/x", AuthSchemes: kinds}
	}
	tok := bearer("alice", "tok-0123456789abcdef")
	cases := []struct {
		name            string
		ids             []*target.Identity
		ops             []*target.Operation
		cookies, bearer bool
	}{
		{"nothing known", nil, []*target.Operation{op()}, false, false},
		{"bearer identity", []*target.Identity{tok}, nil, false, true},
		{"bearer scheme, no identity", nil, []*target.Operation{op(target.AuthBearer)}, false, true},
		{"cookie scheme, no identity", nil, []*target.Operation{op(target.AuthCookie)}, true, false},
		{"cookie scheme beats a bearer identity", []*target.Identity{tok},
			[]*target.Operation{op(target.AuthBearer), op(target.AuthCookie)}, true, false},
		{"basic scheme is attached by browsers", nil, []*target.Operation{op(target.AuthBasic)},
			true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, b := authKinds(tc.ids, tc.ops)
			if c != tc.cookies || b != tc.bearer {
				t.Errorf("cookies=%v bearer=%v, want %v %v", c, b, tc.cookies, tc.bearer)
			}
		})
	}
}
