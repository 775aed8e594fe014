package probes

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/internal/target"
)

// TestNewFindingExplainsCurlVariables builds findings whose curl lines use an identity's
// token, its password, a label a probe explained and one nobody explained, and checks
// that each variable says where its value comes from, without the value itself.
func TestNewFindingExplainsCurlVariables(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	s := newTestSession(t, srv.URL, nil)
	alice, static := opsIdentity("alice", true), bearer("bob", "tok-bob-static-42")
	s.Target.Identities = []*target.Identity{alice, static}
	red := s.Client.Redactor()
	red.Add(alice.Token(), "ALICE_TOKEN")
	red.Add("alice-Passw0rd", "ALICE_SECRET_1")
	red.Add(static.Token(), "BOB_TOKEN")
	red.Add("cnry-made-up", "CANARY_API_KEY")
	red.Explain("CANARY_API_KEY", "a made-up API key")
	red.Add("leftover-secret", "IDENTITY_SECRET")

	cases := []struct {
		name string
		id   *target.Identity
		h    http.Header
		body any
		want map[string]string
	}{
		{name: "a logged-in identity's token names its login", id: alice,
			want: map[string]string{"ALICE_TOKEN": "the token alice gets from POST /api/login"}},
		{name: "a configured token says so", id: static,
			want: map[string]string{"BOB_TOKEN": "the token configured for bob"}},
		{name: "a password and a probe's own explanation",
			h:    http.Header{"X-Api-Key": {"cnry-made-up"}},
			body: map[string]any{"password": "alice-Passw0rd"},
			want: map[string]string{
				"ALICE_SECRET_1": "the password of alice from the scan configuration",
				"CANARY_API_KEY": "a made-up API key",
			}},
		{name: "an unexplained label is left to the report",
			h: http.Header{"X-Other": {"leftover-secret"}}, want: nil},
		{name: "no variable, no map", want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ex, err := s.Send(context.Background(), tc.id, http.MethodPost, "/x", tc.body, tc.h)
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			f := s.NewFinding(RuleInputAccepted, nil, ex, finding.ConfidenceHigh, "", "", "")
			if len(f.Variables) != len(tc.want) {
				t.Fatalf("variables %v, want %v (curl %s)", f.Variables, tc.want, f.Curl)
			}
			for l, w := range tc.want {
				if f.Variables[l] != w {
					t.Errorf("%s: %q, want %q", l, f.Variables[l], w)
				}
			}
		})
	}
}

// TestRedactorExplanation checks the explanation store the probes register into.
func TestRedactorExplanation(t *testing.T) {
	var none *httpx.Redactor
	if none.Explanation("X") != "" {
		t.Error("a nil redactor explains something")
	}
	r := httpx.NewRedactor()
	r.Explain("X", "from here")
	if r.Explanation("X") != "from here" || r.Explanation("Y") != "" {
		t.Errorf("explanations: X=%q Y=%q", r.Explanation("X"), r.Explanation("Y"))
	}
}
