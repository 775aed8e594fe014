package scan

import (
	"crypto/rand"
	"encoding/hex"
)

// NewCanary returns a short random marker unique to one scan.
func NewCanary() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "apg" + hex.EncodeToString(b)
}
