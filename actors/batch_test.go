package actors

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/message"
)

// batchedPolicy is KumoMTA's documented batched-webhook example shape, on the bundled
// policy-extras.log_hooks: records go out as a JSON array of up to 5, waiting up to a second for a
// full batch.
const batchedPolicy = `
local log_hooks = require 'policy-extras.log_hooks'
log_hooks:new {
	name = 'webhook',
	batch_size = 5,
	min_batch_size = 5,
	max_batch_latency = '1s',
	constructor = function(domain, tenant, campaign)
		local connection = {}
		local client = kumo.http.build_client {}
		function connection:send_batch(messages)
			local payload = {}
			for _, msg in ipairs(messages) do
				table.insert(payload, msg:get_data())
			end
			local data = '[' .. table.concat(payload, ',') .. ']'
			local response = client:post('WEBHOOK'):header('Content-Type', 'application/json'):body(data):send()
			local disposition = string.format('%d %s', response:status_code(), response:status_reason() or '')
			if response:status_is_success() then
				return disposition
			end
			kumo.reject(400, disposition) -- retry later
		end
		function connection:close()
			client:close()
		end
		return connection
	end,
}
`

// batchReceiver accepts JSON arrays of records and refuses (503) any array holding the poison id.
type batchReceiver struct {
	mu      sync.Mutex
	poison  string
	batches [][]string // ids of each accepted batch
	refused int
	arrived chan struct{}
}

func (b *batchReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var recs []message.LogRecord
	if err := json.Unmarshal(body, &recs); err != nil || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "want a JSON array of records", http.StatusBadRequest)
		return
	}
	var ids []string
	bad := false
	for _, rec := range recs {
		ids = append(ids, rec.ID)
		bad = bad || rec.ID == b.poison
	}
	b.mu.Lock()
	if bad {
		b.refused++
	} else {
		b.batches = append(b.batches, ids)
	}
	b.mu.Unlock()
	if bad {
		http.Error(w, "poison", http.StatusServiceUnavailable)
	}
	b.arrived <- struct{}{}
}

func TestBatchedWebhook(t *testing.T) {
	var recs []*message.LogRecord
	for i := 0; i < 5; i++ {
		recs = append(recs, record(message.Delivery, i))
	}
	recv := &batchReceiver{poison: recs[2].ID, arrived: make(chan struct{}, 100)}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	// Jitter as the real thing has it: each failed message draws its own.
	draws := []float64{0.1, 0.35, 0.6, 0.85, 0.99}
	n := 0
	r := startRig(t, batchedPolicy, srv.URL, func(o *Options) {
		o.Rand = func() float64 { v := draws[n%len(draws)]; n++; return v }
	})
	r.log(t, recs...)
	<-recv.arrived // one array of five, refused because of the poison
	eventually(t, "the batch's failure is recorded", func() bool { return r.sys.Stats().Transient == 5 })
	// Each message retries at 60s ± its own jitter (1m interval: ±1s), so batch-mates fall due apart
	// and form new batches; every batch holding the poison fails again, until the poison is alone.
	for step := 0; r.sys.Stats().Delivered < 4; step++ {
		if step > 3600 {
			t.Fatalf("after an hour, %d of the four good records delivered", r.sys.Stats().Delivered)
		}
		r.clock.Advance(time.Second)
		time.Sleep(2 * time.Millisecond)
	}
	recv.mu.Lock()
	defer recv.mu.Unlock()
	delivered := map[string]bool{}
	for _, b := range recv.batches {
		if len(b) > 5 {
			t.Fatalf("a batch of %d, more than batch_size", len(b))
		}
		for _, id := range b {
			delivered[id] = true
		}
	}
	if len(delivered) != 4 || delivered[recv.poison] {
		t.Fatalf("delivered %v; want the four records other than the poison", delivered)
	}
	if recv.refused < 2 {
		t.Fatalf("the poison was tried %d times", recv.refused)
	}

}
