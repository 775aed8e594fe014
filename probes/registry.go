package probes

// All returns a fresh instance of every probe, in checklist order. Adding a probe means
// writing its file and adding its constructor here; nothing else lists probes.
func All() []Probe {
	return []Probe{
		NewTransport(),
		NewAuthentication(),
		NewObjectAuthorization(),
		NewInputValidation(),
		NewRateLimit(),
		NewDataExposure(),
		NewSafeErrors(),
		NewCORS(),
		NewVersioning(),
		NewLogging(),
		NewMassAssignment(),
		NewSecurityHeaders(),
	}
}

// AllRules lists the rules of every probe, in checklist order.
func AllRules() []Rule {
	var out []Rule
	for _, p := range All() {
		out = append(out, p.Rules()...)
	}
	return out
}

// RuleByID finds a rule by its stable ID.
func RuleByID(id string) (Rule, bool) {
	for _, r := range AllRules() {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}
