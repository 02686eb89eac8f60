package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/message"
)

// startService runs the service's engine with policy.lua against a loopback webhook and returns its
// HTTP handler and the records the webhook receives.
func startService(t *testing.T) (http.Handler, *service, <-chan *message.LogRecord) {
	t.Helper()
	records := make(chan *message.LogRecord, 64)
	webhook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec, err := message.DecodeRecord(body)
		if err != nil {
			t.Errorf("the webhook received something that is not a record: %v: %s", err, body)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case records <- rec:
		default: // more than any test waits for
		}
	}))
	t.Cleanup(webhook.Close)

	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	eng, err := newEngine("policy.lua", webhook.URL, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := eng.Stop(ctx); err != nil {
			t.Errorf("stopping the engine: %v", err)
		}
	})
	svc := &service{eng: eng, log: log, sender: "welcome@example.com"}
	return svc.routes(), svc, records
}

func post(t *testing.T, h http.Handler, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
	return w
}

// awaitRecords waits until the webhook has received a record of each type about the message id.
func awaitRecords(t *testing.T, records <-chan *message.LogRecord, id string, types ...message.RecordType) map[message.RecordType]*message.LogRecord {
	t.Helper()
	got := map[message.RecordType]*message.LogRecord{}
	timeout := time.After(10 * time.Second)
	for len(got) < len(types) {
		select {
		case rec := <-records:
			if rec.ID == id && slices.Contains(types, rec.Type) {
				got[rec.Type] = rec
			}
		case <-timeout:
			t.Fatalf("after 10s the webhook holds %d of the %v records about %s", len(got), types, id)
		}
	}
	return got
}

func TestSignupReportsReceptionAndDeliveryToTheWebhook(t *testing.T) {
	h, _, records := startService(t)

	w := post(t, h, "/signup", `{"email": "ada@example.net", "name": "Ada"}`)
	if w.Code != http.StatusAccepted {
		t.Fatalf("POST /signup: %d %s", w.Code, w.Body)
	}
	var answer struct{ ID string }
	if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil || answer.ID == "" {
		t.Fatalf("POST /signup answered %s (%v); want {\"id\": ...}", w.Body, err)
	}

	got := awaitRecords(t, records, answer.ID, message.Reception, message.Delivery)
	for typ, rec := range got {
		if want := (message.Recipients{"ada@example.net"}); !slices.Equal(rec.Recipient, want) {
			t.Errorf("%s: recipient %v, want %v", typ, rec.Recipient, want)
		}
		if rec.Queue != "welcome:signup@example.net" {
			t.Errorf("%s: queue %q, want welcome:signup@example.net", typ, rec.Queue)
		}
		if tenant := string(rec.Meta["tenant"]); tenant != `"signup"` {
			t.Errorf("%s: meta tenant %s, want \"signup\"", typ, tenant)
		}
		if subject := string(rec.Headers["Subject"]); subject != `"Welcome to Example"` {
			t.Errorf("%s: captured Subject %s, want \"Welcome to Example\"", typ, subject)
		}
	}
	if d := got[message.Delivery]; !strings.Contains(d.Response.Content, "dry run") {
		t.Errorf("Delivery response %q: want the outbox's dry-run answer", d.Response.Content)
	}
}

func TestEventsFeedsRecordsToThePolicy(t *testing.T) {
	h, svc, records := startService(t)

	t.Run("a bounce reported by a provider reaches the webhook", func(t *testing.T) {
		const id = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
		w := post(t, h, "/events", `{"type": "Bounce", "id": "`+id+`", "sender": "welcome@example.com",
			"recipient": "gone@example.org", "queue": "welcome:signup@example.org",
			"response": {"code": 550, "content": "5.1.1 user unknown"}, "meta": {"tenant": "signup"}}`)
		if w.Code != http.StatusAccepted {
			t.Fatalf("POST /events: %d %s", w.Code, w.Body)
		}
		rec := awaitRecords(t, records, id, message.Bounce)[message.Bounce]
		if rec.Response.Code != 550 || string(rec.Meta["tenant"]) != `"signup"` || rec.NodeID == "" {
			t.Errorf("the webhook got code %d, meta %s, nodeid %q; want 550, the tenant, a node id",
				rec.Response.Code, rec.Meta, rec.NodeID)
		}
	})

	// Log returns once the hooks have decided, so the counters can be checked at once.
	t.Run("a Delayed record is turned away by per_record", func(t *testing.T) {
		before := svc.eng.Stats().Disabled
		w := post(t, h, "/events", `{"type": "Delayed", "id": "00112233445566778899aabbccddeeff",
			"recipient": "slow@example.org", "response": {"code": 451, "content": "4.7.1 later"}}`)
		if w.Code != http.StatusAccepted {
			t.Fatalf("POST /events: %d %s", w.Code, w.Body)
		}
		if after := svc.eng.Stats().Disabled; after != before+1 {
			t.Errorf("Disabled went from %d to %d; want one more", before, after)
		}
	})

	t.Run("a Rejection is dropped by should_enqueue_log_record", func(t *testing.T) {
		before := svc.eng.Stats().Dropped
		w := post(t, h, "/events", `{"type": "Rejection", "recipient": "x@example.org",
			"response": {"code": 550, "content": "5.7.1 no"}}`)
		if w.Code != http.StatusAccepted {
			t.Fatalf("POST /events: %d %s", w.Code, w.Body)
		}
		if after := svc.eng.Stats().Dropped; after != before+1 {
			t.Errorf("Dropped went from %d to %d; want one more", before, after)
		}
	})
}

func TestBadRequestsAreRefused(t *testing.T) {
	h, _, _ := startService(t)
	for _, tc := range []struct {
		name, path, body, wantText string
	}{
		{"a signup that is not JSON", "/signup", `email=ada@example.net`, "signup:"},
		{"a signup with an invalid address", "/signup", `{"email": "not an address"}`, "recipients[0]"},
		{"an event that is not a record", "/events", `{"id": "x"}`, `"type"`},
		{"an event of an unknown type", "/events", `{"type": "Opened"}`, "unknown record type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := post(t, h, tc.path, tc.body)
			if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), tc.wantText) {
				t.Errorf("POST %s: %d %q; want 400 mentioning %s", tc.path, w.Code, w.Body, tc.wantText)
			}
		})
	}
}
