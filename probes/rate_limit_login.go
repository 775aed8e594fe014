package probes

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
)

// lockoutWords mark a login refusal that is a lockout or a challenge rather than a plain
// "wrong password".
var lockoutWords = [][]byte{
	[]byte("locked"), []byte("too many"), []byte("try again later"), []byte("captcha"),
	[]byte("temporarily"), []byte("rate limit"), []byte("slow down"), []byte("blocked"),
}

func hasLockoutWord(body []byte) bool {
	low := bytes.ToLower(body)
	for _, w := range lockoutWords {
		if bytes.Contains(low, w) {
			return true
		}
	}
	return false
}

// lockedOut reports whether a failed-login response shows a lockout, compared with the
// first failure of the series.
func lockedOut(first, ex *httpx.Exchange) bool {
	if ex.Status == http.StatusLocked {
		return true
	}
	return hasLockoutWord(ex.Body) && (!hasLockoutWord(first.Body) || ex.Status != first.Status)
}

// loginPart sends wrong passwords for one account and looks for throttling, a lockout,
// growing delays or an advertised limit. It runs last in the scan because it may lock the
// account.
func (s *Session) loginPart(ctx context.Context) partVerdict {
	l := findLogin(s, false)
	if l == nil {
		return partVerdict{status: finding.StatusNotTested, reason: "login brute force not " +
			"tested: no identity logs in and the API description has no login operation"}
	}
	k := s.Target.Options.LoginAttempts
	if k <= 0 {
		k = defaultLoginAttempts
	}
	account := "a canary username"
	if l.Identity != nil {
		account = "identity " + l.Identity.Name
	}
	where := fmt.Sprintf("%s %s for %s", l.Method, l.Path, account)

	var first, last *httpx.Exchange
	var states []RateLimitState
	var durs []time.Duration
	errs, changed := 0, 0
	for i := 1; i <= k && ctx.Err() == nil && !opsBroken(s); i++ {
		ex, err := l.Send(ctx, s, fmt.Sprintf("apigate-wrong-%s-%d", s.Canary, i), nil)
		if err != nil || ex.Status == 0 {
			errs++
			continue
		}
		if first == nil {
			first = ex
			if Is2xx(ex.Status) && !LooksLikeError(ex.Body) {
				return partVerdict{status: finding.StatusInconclusive, reason: fmt.Sprintf(
					"login brute force: a wrong password to %s answered HTTP %d, so failures "+
						"cannot be told apart", where, ex.Status)}
			}
		}
		last = ex
		durs = append(durs, ex.Duration)
		if st, ok := ParseRateLimit(ex.Header); ok {
			states = append(states, st)
		}
		if isThrottle(ex) {
			note := ""
			if i == 1 {
				note = " (already at the first attempt: earlier failed logins in this scan " +
					"or a general limit had used up the quota, so the login limit's size " +
					"was not measured)"
			}
			return s.afterLockout(ctx, l, first, i, fmt.Sprintf(
				"failed logins to %s throttled with HTTP %d at attempt %d%s",
				where, ex.Status, i, note))
		}
		if i > 1 && lockedOut(first, ex) {
			return s.afterLockout(ctx, l, first, i, fmt.Sprintf(
				"failed logins to %s locked out at attempt %d (HTTP %d)", where, i, ex.Status))
		}
		if ex.Status != first.Status {
			changed++
		}
	}
	if first == nil || errs > k/2 || opsBroken(s) {
		return partVerdict{status: finding.StatusInconclusive, reason: fmt.Sprintf(
			"login brute force: %d attempts to %s failed at the transport level (stopped after "+
				"%d failures in this check)", errs, where, maxTransportErrors)}
	}
	if first.Status != 401 && first.Status != 403 && !Is2xx(first.Status) {
		return partVerdict{status: finding.StatusInconclusive, reason: fmt.Sprintf(
			"login brute force: wrong passwords to %s answered HTTP %d, not 401/403, so the "+
				"login may never have been checked", where, first.Status)}
	}
	if slowedDown(durs) {
		return partVerdict{status: finding.StatusPass, reason: fmt.Sprintf(
			"failed logins to %s were slowed down (last answers took %s, first %s)",
			where, durs[len(durs)-1].Round(time.Millisecond), durs[0].Round(time.Millisecond))}
	}
	if f, lo, ok := advertisedDecrease(states); ok {
		return partVerdict{status: finding.StatusPass, reason: fmt.Sprintf(
			"failed logins to %s advertise a limit whose remaining quota went from %d to %d (%s)",
			where, f.Remaining, lo.Remaining, lo)}
	}
	if changed > 0 {
		return partVerdict{status: finding.StatusInconclusive, reason: fmt.Sprintf(
			"login brute force: %d of the answers from %s changed from HTTP %d (last HTTP %d) "+
				"without a recognisable throttle or lockout (overload, or a block page?)",
			changed, where, first.Status, last.Status)}
	}
	n := k - errs
	title := fmt.Sprintf("%d failed logins in a row accepted without throttling on %s %s",
		n, l.Method, l.Path)
	excerpt := fmt.Sprintf("attempt 1: HTTP %d; attempt %d: HTTP %d\n%s",
		first.Status, k, last.Status, Truncate(string(last.Body), 200))
	detail := fmt.Sprintf("%d wrong passwords for %s were each refused the same way, with no 429, "+
		"lockout, growing delay or advertised limit.", n, account)
	f := s.NewFinding(RuleRateLimitLogin, l.Op, last, finding.ConfidenceHigh, title, excerpt,
		detail)
	return partVerdict{status: finding.StatusFail, findings: []finding.Finding{f},
		reason: fmt.Sprintf("%d failed logins to %s were never throttled", n, where)}
}

// slowedDown reports answers that grew markedly slower over the series: the last three
// average over a second and four times the first three.
func slowedDown(d []time.Duration) bool {
	if len(d) < 6 {
		return false
	}
	avg := func(x []time.Duration) time.Duration {
		var t time.Duration
		for _, v := range x {
			t += v
		}
		return t / time.Duration(len(x))
	}
	head, tail := avg(d[:3]), avg(d[len(d)-3:])
	return tail > time.Second && tail > 4*head
}

// loginBypass runs once failed logins are refused: it repeats one attempt with each forged
// client-IP header. An answer like the first ordinary failure (not throttled, no lockout)
// means the counter is keyed on the header, so an attacker resets it at will.
func (s *Session) loginBypass(ctx context.Context, l *loginTarget, first *httpx.Exchange,
	reason string) partVerdict {
	// The answer to an ordinary wrong password; when even the first attempt was refused,
	// any plain 401 or 403 shows the counter was reset.
	ordinary := func(st int) bool { return st == first.Status }
	if isThrottle(first) || lockedOut(first, first) {
		ordinary = func(st int) bool { return st == 401 || st == 403 }
	}
	variants := slices.Concat(bypassVariants(l.Path, s.Canary)[:3], versionDowngrades(l.Path))
	for _, v := range variants {
		if opsBroken(s) {
			break
		}
		lv := *l
		lv.Path = v.path
		ex, err := lv.Send(ctx, s, "apigate-wrong-"+s.Canary+"-bypass", v.header)
		if err != nil || ex.Status == 0 || isThrottle(ex) || hasLockoutWord(ex.Body) ||
			ex.Status == http.StatusLocked || !ordinary(ex.Status) {
			continue
		}
		// The same attempt without the forged header must still be refused, or the limit
		// simply expired.
		ctl, err := l.Send(ctx, s, "apigate-wrong-"+s.Canary+"-control", nil)
		stillRefused := err == nil &&
			(isThrottle(ctl) || ctl.Status == http.StatusLocked || lockedOut(first, ctl))
		if !stillRefused {
			return partVerdict{status: finding.StatusPass, reason: reason +
				"; the refusal had lifted when bypasses were tried"}
		}
		excerpt := fmt.Sprintf("%s %s", l.Method, v.path)
		if v.header != nil {
			excerpt = HeaderExcerpt(&httpx.Exchange{Header: v.header}, "X-Forwarded-For",
				"X-Real-IP", "X-Client-IP")
		}
		excerpt += fmt.Sprintf("\nHTTP %d, as before the lockout", ex.Status)
		f := s.NewFinding(RuleRateLimitBypass, l.Op, ex, finding.ConfidenceHigh,
			fmt.Sprintf("Login throttling on %s %s bypassed with %s", l.Method, l.Path, v.name),
			excerpt, fmt.Sprintf("After failed logins were refused, one more attempt with %s was "+
				"processed as an ordinary wrong password again.", v.name))
		f.Fingerprint = controlFingerprint(f, "login")
		return partVerdict{status: finding.StatusFail, findings: []finding.Finding{f},
			reason: reason + ", but bypassed with " + v.name}
	}
	return partVerdict{status: finding.StatusPass, reason: reason +
		"; forged X-Forwarded-For, X-Real-IP and X-Client-IP (and an older API version, if " +
		"any) did not reset it"}
}

// afterLockout checks what an attacker does once failed logins are refused: reset the
// counter with a forged client address, or use the lockout to tell real accounts apart.
func (s *Session) afterLockout(ctx context.Context, l *loginTarget, first *httpx.Exchange,
	lockedAt int, reason string) partVerdict {
	v := s.loginBypass(ctx, l, first, reason)
	if v.status != finding.StatusPass || l.Identity == nil || lockedAt < 2 || l.userField == "" {
		return v
	}
	if f, note := s.lockoutEnumeration(ctx, l, first, lockedAt); f != nil {
		v.status, v.findings = finding.StatusFail, append(v.findings, *f)
		v.reason += "; " + note
	} else if note != "" {
		v.reason += "; " + note
	}
	return v
}

// lockoutEnumeration sends as many failures for a username that does not exist as locked
// the real account, plus one. If the real account locks and the unknown name never does,
// the lockout itself tells an attacker which usernames exist.
func (s *Session) lockoutEnumeration(ctx context.Context, l *loginTarget, first *httpx.Exchange,
	lockedAt int) (*finding.Finding, string) {
	ghost := l.WithUser("apigate-" + s.Canary + "-nobody@example.invalid")
	var last *httpx.Exchange
	for i := 1; i <= lockedAt+1; i++ {
		if opsBroken(s) || ctx.Err() != nil {
			return nil, ""
		}
		ex, err := ghost.Send(ctx, s, fmt.Sprintf("apigate-wrong-%s-%d", s.Canary, i), nil)
		if err != nil || ex.Status == 0 {
			return nil, ""
		}
		if isThrottle(ex) || lockedOut(first, ex) {
			return nil, "an unknown username locks the same way, so the lockout reveals no account"
		}
		last = ex
	}
	f := s.NewFinding(RuleRateLimitEnumeration, l.Op, last, finding.ConfidenceMedium,
		fmt.Sprintf("Login lockout on %s %s reveals which usernames exist", l.Method, l.Path),
		fmt.Sprintf("existing account: refused after %d failures; unknown username: attempt %d "+
			"still answered HTTP %d", lockedAt-1, lockedAt+1, last.Status),
		fmt.Sprintf("The account of %s locked after %d wrong passwords; a username that does "+
			"not exist never did in %d.", l.Identity.Name, lockedAt-1, lockedAt+1))
	f.Fingerprint = controlFingerprint(f, "enumeration")
	return &f, "the lockout applies only to existing accounts (username enumeration)"
}
