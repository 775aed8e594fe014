package probes

import "fmt"

// maxBurst bounds the burst whatever the config says (the config rejects more too), and
// minBurst is the smallest burst that can show a limit at all.
const (
	maxBurst = 1000
	minBurst = 10
)

// burstReserve is what the burst leaves of the request budget for the rest of the check:
// picking the endpoint, the bypass attempts and the failed-login series.
func (s *Session) burstReserve() int {
	k := s.Target.Options.LoginAttempts
	if k <= 0 {
		k = defaultLoginAttempts
	}
	return 2*k + 20
}

// burstSize is the number of requests the burst sends: the configured or default size,
// capped at maxBurst and at what the request budget still allows. When capped by the
// budget, why says so, for the verdict's reason.
func (s *Session) burstSize() (n int, why string) {
	n = s.Target.Options.Burst
	if n <= 0 {
		n = defaultBurst
	}
	n = min(n, maxBurst)
	left := int(s.Client.Remaining()) - s.burstReserve()
	if left < n {
		why = fmt.Sprintf("burst capped at %d of %d requests: the request budget "+
			"(--max-requests %d) has %d requests left", max(left, 0), n, s.Client.Budget(),
			s.Client.Remaining())
		n = max(left, 0)
	}
	return n, why
}
