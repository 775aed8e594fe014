package probes

import (
	"testing"
)

// TestErrorSignatureSamples proves each signature on the samples written beside it: it must
// fire on every true sample and stay silent on every false one.
func TestErrorSignatureSamples(t *testing.T) {
	ids := map[string]bool{}
	for i := range errorSignatures {
		sig := &errorSignatures[i]
		if ids[sig.ID] {
			t.Errorf("duplicate signature id %s", sig.ID)
		}
		ids[sig.ID] = true
		if len(sig.True) == 0 || len(sig.False) == 0 || sig.Rule == nil {
			t.Errorf("%s: needs a rule, true samples and false samples", sig.ID)
		}
		for _, s := range sig.True {
			if !sigFires(sig, s) {
				t.Errorf("%s does not fire on its true sample %q", sig.ID, s)
			}
		}
		for _, s := range sig.False {
			if sigFires(sig, s) {
				t.Errorf("%s fires on its false sample %q", sig.ID, s)
			}
		}
	}
}

func sigFires(sig *errorSignature, body string) bool {
	for _, h := range matchSignatures([]byte(body)) {
		if h.Sig == sig {
			return true
		}
	}
	return false
}

// TestBenignBodiesMatchNothing runs ordinary API bodies, including the traps of the
// detection notes, against the whole table.
func TestBenignBodiesMatchNothing(t *testing.T) {
	bodies := map[string]string{
		"problem+json 500 with a generic detail": `{"type":"about:blank","title":"Internal Server Error","status":500,"detail":"An unexpected error occurred.","instance":"/orders/1"}`,
		"JSON with error in a normal field":      `{"id":7,"error_rate":0.01,"last_error":"none","message":"error budget fine"}`,
		"correlation id only":                    `{"error":"internal error","traceId":"4bf92f3577b34da6a3ce929d0e0e4736"}`,
		"validation error":                       `{"errors":[{"field":"quantity","message":"must be an integer"}]}`,
		"docs prose about errors":                `<p>On failure the API never returns a Traceback or a java.lang.Exception; SQL errors are logged.</p>`,
		"bare reason phrase":                     `Internal Server Error`,
	}
	for name, b := range bodies {
		if hits := matchSignatures([]byte(b)); len(hits) > 0 {
			t.Errorf("%s: matched %s", name, hits[0].Sig.ID)
		}
	}
}
