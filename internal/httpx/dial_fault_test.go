package httpx

import (
	"errors"
	"testing"
)

// TestRefuseLinkLocal calls the dialer's control function directly: no packet is sent to
// any of these addresses.
func TestRefuseLinkLocal(t *testing.T) {
	cases := map[string]bool{
		"169.254.169.254:80":   true,
		"169.254.170.2:80":     true,
		"[fe80::1]:80":         true,
		"[fe80::a9fe:a9fe]:80": true,
		"224.0.0.251:5353":     true, // link-local multicast
		"127.0.0.1:8080":       false,
		"[::1]:8080":           false,
		"10.0.0.1:80":          false,
	}
	for addr, refused := range cases {
		err := refuseLinkLocal("tcp", addr, nil)
		if got := errors.Is(err, ErrHostNotAllowed); got != refused {
			t.Errorf("%s: refused = %v (err %v), want %v", addr, got, err, refused)
		}
	}
}
