package demo

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestLogBufferSplitsLikeACollector(t *testing.T) {
	b := newLogBuffer(nil)
	b.Write([]byte("one\r\ntw"))
	mid := time.Now()
	time.Sleep(time.Millisecond)
	b.Write([]byte("o\nthree\n"))
	all, _ := b.Logs(context.Background(), time.Time{})
	var got []string
	for _, l := range all {
		got = append(got, l.Text)
	}
	if strings.Join(got, "|") != "one|two|three" {
		t.Fatalf("lines %q", got)
	}
	later, _ := b.Logs(context.Background(), mid)
	if len(later) != 2 || later[0].Text != "two" {
		t.Fatalf("lines since the second write: %+v", later)
	}
}

// TestHardenedLogIsStructured: every line the hardened mode writes is one JSON object with
// an event name, and the request id travels with the events of its request.
func TestHardenedLogIsStructured(t *testing.T) {
	e := newEnv(t, true)
	e.do("POST", LoginPath, "", map[string]string{"username": "alice", "password": "nope"},
		"X-Request-ID", "rid-7")
	e.do("GET", "/api/me", "garbage", nil)
	e.do("POST", "/api/v2/orders", e.login(Alice), map[string]any{"item": "tea", "quantity": 0})
	events := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(e.s.Logs().Text()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %q", l)
		}
		ev, _ := m["event"].(string)
		if ev == "" {
			t.Fatalf("no event name: %q", l)
		}
		events[ev] = true
		if ev == "authn_login_fail" && m["request_id"] != "rid-7" {
			t.Errorf("the login failure lost its request id: %q", l)
		}
	}
	for _, want := range []string{"http_request", "authn_login_fail", "authn_token_invalid",
		"authn_login_success", "input_validation_fail"} {
		if !events[want] {
			t.Errorf("no %s event; got %v", want, events)
		}
	}
}
