package probes

import (
	"fmt"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/target"
)

// curlVariables explains each ${LABEL} a finding's curl line uses: what a probe registered
// with the redactor's Explain, else what the identities tell (whose token or password the
// label hides), else nil for the report to fall back on.
func (s *Session) curlVariables(curl string) map[string]string {
	labels := finding.CurlVariables(curl)
	if len(labels) == 0 {
		return nil
	}
	red := s.Client.Redactor()
	out := make(map[string]string, len(labels))
	for _, l := range labels {
		why := red.Explanation(l)
		if why == "" {
			why = s.identityVariable(l)
		}
		if why != "" {
			out[l] = red.Redact(why)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// identityVariable says which identity secret label stands for, by matching the label the
// redactor gives each of the identity's values; "" when none matches.
func (s *Session) identityVariable(label string) string {
	red := s.Client.Redactor()
	is := func(v string) bool { return v != "" && red.Placeholder(v) == "${"+label+"}" }
	for _, id := range s.Target.Identities {
		if is(id.Token()) {
			if id.Login != nil {
				return fmt.Sprintf("the token %s gets from %s %s", id.Name, id.Login.Method,
					id.Login.Path)
			}
			return fmt.Sprintf("the token configured for %s", id.Name)
		}
		if pw := loginPassword(id); is(pw) {
			return fmt.Sprintf("the password of %s from the scan configuration", id.Name)
		}
		for _, v := range id.Secrets {
			if is(v) {
				return fmt.Sprintf("a credential of %s (header, cookie or token) from its "+
					"login or the scan configuration", id.Name)
			}
		}
	}
	return ""
}

func loginPassword(id *target.Identity) string {
	if id.Login == nil {
		return ""
	}
	pw, _ := id.Login.Body[id.Login.PasswordField].(string)
	return pw
}
