package probes

import "fmt"

// maxTransportErrors is how many transport failures (timeouts, resets, cut bodies) the
// rate-limit, versioning and logging probes accept before they stop sending: a target that
// hangs must not cost a timeout per planned request.
const maxTransportErrors = 3

// opsBroken reports whether this probe's requests have failed at the transport level often
// enough to stop, or whether one was refused before it was sent (the request budget is
// spent, or a host is not allowed): repeating a refused request only spins the CPU.
func opsBroken(s *Session) bool {
	st := s.Client.Stats()
	return st.Errors.Load() >= maxTransportErrors || st.Refused.Load() > 0 || st.Blocked.Load() > 0
}

// brokenWhy says, for a reason, why opsBroken stopped the probe: the budget, the
// allow-list, or the transport failures; "" when it did not, or the context did.
func brokenWhy(s *Session) string {
	st := s.Client.Stats()
	switch {
	case st.Refused.Load() > 0:
		return budgetStop
	case st.Blocked.Load() > 0:
		return "stopped early: a request was aimed at a host outside the allow-list"
	case st.Errors.Load() >= maxTransportErrors:
		return fmt.Sprintf("stopped after %d transport failures", st.Errors.Load())
	}
	return ""
}
