package scan

import (
	"errors"
	"fmt"

	"github.com/apigate/apigate/internal/finding"
	"github.com/apigate/apigate/internal/httpx"
	"github.com/apigate/apigate/probes"
)

// ErrUnreliable is matched by the error of a scan in which most requests failed at the
// transport level: the target answered its liveness checks but not its API.
var ErrUnreliable = errors.New("verdicts are unreliable")

// unreliableMin and the majority rule decide when transport failures make a whole scan
// unreliable: a handful of resets on one route is the route's problem, most of the scan's
// requests failing is the target's. A target that merely rejects requests (4xx) answers,
// so it never counts here.
const unreliableMin = 10

// scanError is a scan failure with a message of its own that errors.Is still matches to
// its kind (httpx.ErrBudget, ErrUnreliable).
type scanError struct {
	msg  string
	kind error
}

func (e *scanError) Error() string        { return e.msg }
func (e *scanError) Is(target error) bool { return target == e.kind }

// budgetSpent returns the scan's error when the request budget refused any request: the
// checks behind the refusals did not run as designed, so the scan did not complete.
func budgetSpent(c *httpx.Client) error {
	if c.Refused() == 0 {
		return nil
	}
	return &scanError{kind: httpx.ErrBudget, msg: budgetReason(c)}
}

func budgetReason(c *httpx.Client) string {
	return fmt.Sprintf("request budget (--max-requests %d) exhausted after %d requests",
		c.Budget(), c.Sent())
}

// unreliable returns the scan's error when most of its requests failed at the transport
// level (timeouts, resets, cut bodies).
func unreliable(c *httpx.Client) error {
	failed, sent := c.Failed(), c.Sent()
	if failed < unreliableMin || failed*2 <= sent {
		return nil
	}
	return &scanError{kind: ErrUnreliable, msg: fmt.Sprintf(
		"the target failed %d of %d requests (timeouts/resets); verdicts are unreliable",
		failed, sent)}
}

// unsent corrects a verdict for requests the check meant to send but could not: refused by
// the budget, or aimed at a host outside the allow-list (a probe bug). Such a check tested
// less than it says, so it cannot pass, and an inconclusive or not-tested reason that
// blames the target ("no route answered") is replaced by the true one. Proven findings stay.
func unsent(v probes.Verdict, st *httpx.Stats, c *httpx.Client) probes.Verdict {
	var why string
	switch {
	case st.Refused.Load() > 0:
		why = budgetReason(c)
	case st.Blocked.Load() > 0:
		why = fmt.Sprintf("%d of this check's requests were aimed at a host outside the "+
			"allow-list and not sent (a probe bug)", st.Blocked.Load())
	default:
		return v
	}
	if v.Status == finding.StatusFail {
		v.Reason = fmt.Sprintf("%s (incomplete: %s)", v.Reason, why)
		return v
	}
	return probes.Inconclusive(why)
}
