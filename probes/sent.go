package probes

import (
	"context"
	"errors"

	"github.com/apigate/apigate/internal/httpx"
)

// wentOut reports whether a request reached the wire: it got a status, or met a transport
// error on the way. A request the budget refused (or the allow-list blocked, or a done
// context stopped first) was never sent, and a reason that counted it would overstate
// what the check tested.
func wentOut(ex *httpx.Exchange, err error) bool {
	if ex != nil && ex.Status != 0 {
		return true
	}
	if err == nil || httpx.IsFatal(err) || errors.Is(err, context.Canceled) {
		return false
	}
	return true
}

// budgetStop is the reason's note for a loop the spent request budget ended.
const budgetStop = "stopped early: the request budget ran out"
