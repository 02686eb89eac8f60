package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The whole example: three hookd processes, a kill, a restart, a stop. hookd is built from this
// module, as `go run ./examples/cluster` does.
func TestExampleEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds hookd and runs three hookd processes")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	res, err := run(ctx, options{records: 60, out: &out})
	t.Logf("the example printed:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	if res.posted != 180 || res.delivered != res.posted {
		t.Errorf("posted %d, delivered %d; want all 180 delivered", res.posted, res.delivered)
	}
	if res.duplicated > 0 {
		t.Logf("%d records arrived more than once (at least once is the promise)", res.duplicated)
	}
	if res.killed != "m3" || len(res.killedQueues) == 0 || res.spooled == 0 {
		t.Errorf("killed %s owning %v with %d messages spooled; want m3 with queues and messages", res.killed,
			res.killedQueues, res.spooled)
	}
	spooled := 0
	for _, n := range res.spooledDeliveredBy {
		spooled += n
	}
	if spooled != res.spooled {
		t.Errorf("%d messages were in the killed member's queues, %d of them delivered after its restart (%v)",
			res.spooled, spooled, res.spooledDeliveredBy)
	}
	if n := res.takenOver[res.killed]; n != 0 || len(res.takenOver) == 0 {
		t.Errorf("the killed member's queues while it was dead were delivered by %v; want the survivors only", res.takenOver)
	}
	for _, id := range []string{"m1", "m2", "m3"} {
		if code, ok := res.exits[id]; !ok || code != 0 {
			t.Errorf("%s: exit %d (%v) after SIGTERM; want 0", id, code, ok)
		}
	}
	for _, want := range []string{"1. three `hookd run` members start", "4. m3 is killed with SIGKILL",
		"the survivors own its queues", "6. m3 restarts on its spool", "records posted 180, delivered 180, lost 0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q", want)
		}
	}
}

func TestRecordsAndWebhook(t *testing.T) {
	recs := makeRecords(10, 24)
	seen, byTenant := map[string]bool{}, map[string]int{}
	for _, r := range recs {
		if len(r.ID) != 32 || seen[r.ID] || r.Type != "Delivery" || r.Meta["tenant"] == "" {
			t.Fatalf("record %+v: want a Delivery with a new 32-digit id and a tenant", r)
		}
		seen[r.ID] = true
		byTenant[r.Meta["tenant"]]++
	}
	if len(byTenant) != len(tenants) || byTenant["acme"] != 2 {
		t.Errorf("24 records over %d tenants: %v", len(tenants), byTenant)
	}

	wh := newWebhook()
	srv := httptest.NewServer(wh)
	defer srv.Close()
	post := func(member, body string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		req.Header.Set("X-Hookd-Member", member)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	a := `{"type":"Delivery","id":"a1","meta":{"tenant":"acme"}}`
	wh.down.Store(true)
	if code := post("m1", a); code != http.StatusServiceUnavailable || wh.has([]string{"a1"}) != 0 || wh.refusedPosts() != 1 {
		t.Errorf("while down: %d, %d arrived, %d refused; want 503, nothing counted", code, wh.has([]string{"a1"}), wh.refusedPosts())
	}
	wh.down.Store(false)
	for _, m := range []string{"m2", "m1"} {
		if code := post(m, a); code != http.StatusOK {
			t.Errorf("POST from %s: %d", m, code)
		}
	}
	if code := post("m1", `{"type":"Delivery"}`); code != http.StatusBadRequest {
		t.Errorf("a record without an id: %d, want 400", code)
	}
	by, _ := wh.firstBy([]string{"a1", "missing"})
	distinct, duplicated, extra, posts := wh.totals()
	if by["m2"] != 1 || len(by) != 1 || distinct != 1 || duplicated != 1 || extra != 1 || posts["m1"] != 1 || posts["m2"] != 1 {
		t.Errorf("first by %v; distinct %d, duplicated %d (+%d), posts %v", by, distinct, duplicated, extra, posts)
	}
	if o := wh.owners([]string{"a1"}); !o["acme"]["m2"] || len(o["acme"]) != 1 {
		t.Errorf("owners %v; want acme delivered first by m2", o)
	}
	if _, err := run(t.Context(), options{records: 2}); err == nil || !strings.Contains(err.Error(), "at least 3") {
		t.Errorf("-records 2: %v", err)
	}
}
