package report

import (
	"bytes"
	"encoding/json"
	"testing"
)

// A failed scan's machine-readable reports say so: SARIF executionSuccessful false with an
// error notification giving the reason, JSON "complete": false with "error".
func TestFailedScanReportsAreMarkedIncomplete(t *testing.T) {
	why := "the scan passed its deadline; checks that did not complete: cors"
	for _, tc := range []struct {
		name string
		err  string
	}{{"complete", ""}, {"failed", why}} {
		t.Run(tc.name, func(t *testing.T) {
			rep := sampleReport()
			rep.Error = tc.err
			var doc struct {
				Runs []struct {
					Invocations []struct {
						ExecutionSuccessful *bool `json:"executionSuccessful"`
						Notifications       []struct {
							Level   string `json:"level"`
							Message struct {
								Text string `json:"text"`
							} `json:"message"`
						} `json:"toolExecutionNotifications"`
					} `json:"invocations"`
				} `json:"runs"`
			}
			if err := json.Unmarshal(writeSARIF(t, rep, Options{}), &doc); err != nil {
				t.Fatal(err)
			}
			inv := doc.Runs[0].Invocations
			if len(inv) != 1 || inv[0].ExecutionSuccessful == nil {
				t.Fatalf("invocations = %+v", inv)
			}
			if got := *inv[0].ExecutionSuccessful; got != (tc.err == "") {
				t.Errorf("executionSuccessful = %v for error %q", got, tc.err)
			}
			n := inv[0].Notifications
			if tc.err == "" && len(n) != 0 {
				t.Errorf("a complete scan has notifications: %+v", n)
			}
			if tc.err != "" && (len(n) != 1 || n[0].Level != "error" || n[0].Message.Text != why) {
				t.Errorf("notifications = %+v, want one error saying why", n)
			}

			var buf bytes.Buffer
			if err := JSON(&buf, rep, Options{}); err != nil {
				t.Fatal(err)
			}
			var j map[string]any
			if err := json.Unmarshal(buf.Bytes(), &j); err != nil {
				t.Fatal(err)
			}
			if j["complete"] != (tc.err == "") {
				t.Errorf("json complete = %v for error %q", j["complete"], tc.err)
			}
			if got, _ := j["error"].(string); got != tc.err {
				t.Errorf("json error = %q, want %q", got, tc.err)
			}
			if _, ok := j["findings"]; !ok {
				t.Error("json lost the report's fields")
			}
		})
	}
}
