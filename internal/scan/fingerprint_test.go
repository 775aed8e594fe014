package scan

import (
	"testing"

	"github.com/apigate/apigate/internal/finding"
)

// TestFingerprintKey: a Key separates findings of one rule on one operation, and a finding
// without one keeps the fingerprint earlier versions computed (baselines depend on it).
func TestFingerprintKey(t *testing.T) {
	base := finding.Finding{Rule: "safe-errors-version-header", Method: "GET", Path: "/api/items"}
	server, powered := base, base
	server.Key, powered.Key = "Server", "X-Powered-By"
	if Fingerprint(server) == Fingerprint(powered) {
		t.Error("two header findings share a fingerprint")
	}
	if Fingerprint(server) == Fingerprint(base) {
		t.Error("a Key does not change the fingerprint")
	}
	// sha256("safe-errors-version-header\x00GET\x00/api/items")[:8], as before Key existed.
	if got, want := Fingerprint(base), "adedcc94056ff2a8"; got != want {
		t.Errorf("fingerprint without Key = %s, want %s", got, want)
	}
	if Fingerprint(server) != Fingerprint(server) {
		t.Error("fingerprint is not deterministic")
	}
}
