package queue

import (
	"errors"
	"testing"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		name string
		call Call
		want Verdict
	}{
		{"a returned string is a Delivery with that text", Call{Returned: true, Text: "200 OK: fine"},
			Verdict{Delivered, 200, "200 OK: fine", false}},
		{"reject 400 is a TransientFailure that keeps the connection", Call{Rejected: true, Code: 400, Text: "later"},
			Verdict{Transient, 400, "later", false}},
		{"reject 451 is a TransientFailure", Call{Rejected: true, Code: 451, Text: "busy"},
			Verdict{Transient, 451, "busy", false}},
		{"reject 499 is still transient", Call{Rejected: true, Code: 499, Text: "x"},
			Verdict{Transient, 499, "x", false}},
		{"reject 421 is transient and closes the connection", Call{Rejected: true, Code: 421, Text: "go away"},
			Verdict{Transient, 421, "go away", true}},
		{"reject 500 is a Bounce", Call{Rejected: true, Code: 500, Text: "500 Internal: nope"},
			Verdict{Bounced, 500, "500 Internal: nope", false}},
		{"reject 550 is a Bounce", Call{Rejected: true, Code: 550, Text: "no"},
			Verdict{Bounced, 550, "no", false}},
		{"reject 250 is a Bounce too", Call{Rejected: true, Code: 250, Text: "odd"},
			Verdict{Bounced, 250, "odd", false}},
		{"reject 399 is a Bounce", Call{Rejected: true, Code: 399, Text: "odd"},
			Verdict{Bounced, 399, "odd", false}},
		{"reject 600 is a Bounce", Call{Rejected: true, Code: 600, Text: "odd"},
			Verdict{Bounced, 600, "odd", false}},
		{"any other error is a 400 internal TransientFailure that closes the connection",
			Call{Text: "sender:send method failed: init.lua:3: boom"},
			Verdict{Transient, 400, "KumoMTA internal: error in deliver_message: sender:send method failed: init.lua:3: boom", true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(tc.call); got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	t.Run("a failing constructor fails the batch transiently and ends the session", func(t *testing.T) {
		got := ConnectFailed(errors.New("event \"make.x\" has no handler"))
		want := Verdict{Transient, 400, "KumoMTA internal: failed to connect to any candidate hosts: event \"make.x\" has no handler", true}
		if got != want {
			t.Fatalf("got %+v", got)
		}
	})
}
