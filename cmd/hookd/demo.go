package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hookd/hookd/engine"
	"github.com/hookd/hookd/internal/sink"
	"github.com/hookd/hookd/message"
)

//go:embed assets/demo.lua
var demoPolicy string

// demoPolicyFor is the demo's policy posting to url, with one queue ("one") or a queue per campaign
// and tenant ("per-tenant", for the cluster demo).
func demoPolicyFor(url, queues string) string {
	return strings.NewReplacer("{{WEBHOOK_URL}}", url, "{{QUEUES}}", queues).Replace(demoPolicy)
}

func cmdDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	records := fs.Int("records", 2000, "synthetic log records to feed")
	failRate := fs.Float64("fail-rate", 0.1, "fraction of webhook requests the built-in receiver fails with 503")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up waiting for deliveries after this long")
	members := fs.Int("cluster", 0, "run a cluster of N members in this process, offer the records to each in turn, "+
		"and show what each delivered, forwarded and handed in")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *members != 0 {
		if *members < 2 || *members > maxDemoMembers {
			fmt.Fprintf(stderr, "hookd demo: --cluster takes 2 to %d members (got %d)\n", maxDemoMembers, *members)
			return 2
		}
		if err := demoCluster(*members, *records, *failRate, *timeout, stdout, stderr); err != nil {
			fmt.Fprintln(stderr, "hookd demo:", err)
			return 1
		}
		return 0
	}
	if err := demo(*records, *failRate, *timeout, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "hookd demo:", err)
		return 1
	}
	return 0
}

func demo(n int, failRate float64, timeout time.Duration, stdout, stderr io.Writer) error {
	dir, err := os.MkdirTemp("", "hookd-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	recv := sink.New(sink.Config{FailRate: failRate})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: recv, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	url := fmt.Sprintf("http://%s/events", ln.Addr())

	log, _ := newLogger(stderr, "error")
	eng, err := engine.New(engine.Config{Policy: "demo.lua", SpoolDir: dir, Logger: log,
		PolicySource: []byte(demoPolicyFor(url, "one"))})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := eng.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "hookd demo: webhook %s, spool %s, %d synthetic records\n", url, dir, n)
	start := time.Now()
	recs := syntheticRecords(n, start)
	want := 0
	for _, r := range recs {
		if r.Type == message.Delivery || r.Type == message.Bounce || r.Type == message.TransientFailure {
			want++
		}
	}
	for i := 0; i < len(recs); i += 100 {
		if err := eng.Log(ctx, recs[i:min(i+100, len(recs))]...); err != nil {
			return err
		}
	}
	waitErr := progress(ctx, stdout, recv, want)
	elapsed := time.Since(start)
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	stopErr := eng.Stop(sctx)
	summary(stdout, n, want, eng.Stats(), recv.Stats(), elapsed)
	if waitErr != nil {
		return fmt.Errorf("not every record arrived: %w", waitErr)
	}
	return stopErr
}

// progress draws a bar until the receiver holds want distinct records.
func progress(ctx context.Context, w io.Writer, recv *sink.Sink, want int) error {
	done := make(chan error, 1)
	go func() { done <- recv.WaitFor(ctx, uint64(want)) }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			drawBar(w, int(recv.Stats().Unique), want)
			fmt.Fprintln(w)
			return err
		case <-tick.C:
			drawBar(w, int(recv.Stats().Unique), want)
		}
	}
}

func drawBar(w io.Writer, have, want int) {
	const width = 40
	filled := width
	if want > 0 {
		filled = min(width, have*width/want)
	}
	fmt.Fprintf(w, "\r  delivering [%s%s] %d/%d", strings.Repeat("#", filled), strings.Repeat(".", width-filled), have, want)
}

func summary(w io.Writer, in, want int, st engine.Stats, rs sink.Stats, elapsed time.Duration) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\t\n", k, v) }
	fmt.Fprintln(w, "\nsummary")
	row("records in", in)
	row("kept by the policy", st.Kept)
	row("turned away by per_record", st.Disabled)
	row("dropped by should_enqueue_log_record", st.Dropped)
	row("delivered", st.Delivered)
	row("retried (transient failures)", st.Transient)
	row("bounced", st.Bounced)
	row("webhook requests", rs.Requests)
	row("webhook requests failed on purpose", rs.FailedRequests)
	row("distinct records at the webhook", fmt.Sprintf("%d of %d", rs.Unique, want))
	row("duplicates at the webhook", rs.Duplicates)
	row("elapsed", elapsed.Round(time.Millisecond))
	row("rate", fmt.Sprintf("%.0f records/s", float64(rs.Unique)/elapsed.Seconds()))
	_ = tw.Flush()
}

// syntheticRecords makes a realistic mix of mail events for a few tenants and campaigns.
func syntheticRecords(n int, now time.Time) []*message.LogRecord {
	rng := rand.New(rand.NewPCG(1, 2))
	ids := message.NewIDGen(message.RandomNode())
	kinds := []message.RecordType{message.Reception, message.Delivery, message.Delivery, message.Delivery,
		message.TransientFailure, message.Bounce}
	tenants := []string{"acme", "globex", "initech"}
	campaigns := []string{"welcome", "newsletter", "receipts"}
	domains := []string{"example.com", "example.net", "example.org"}
	out := make([]*message.LogRecord, n)
	for i := range out {
		kind := kinds[rng.IntN(len(kinds))]
		tenant, campaign, domain := tenants[rng.IntN(3)], campaigns[rng.IntN(3)], domains[rng.IntN(3)]
		id := ids.New(now)
		r := &message.LogRecord{Type: kind, ID: id.String(), Sender: "bounces@" + tenant + ".example",
			Recipient: message.Recipients{fmt.Sprintf("user%d@%s", rng.IntN(100000), domain)},
			Queue:     fmt.Sprintf("%s:%s@%s", campaign, tenant, domain), Size: uint64(2000 + rng.IntN(50000)),
			Created: now.Unix(), CreatedTime: now, BounceClassification: "Uncategorized",
			Meta: map[string]json.RawMessage{}}
		r.Meta["tenant"] = []byte(`"` + tenant + `"`)
		r.Meta["campaign"] = []byte(`"` + campaign + `"`)
		switch kind {
		case message.Delivery:
			r.Response = message.Response{Code: 250, Content: "2.0.0 OK queued as " + id.String()[:12]}
			r.Site = "mx." + domain
		case message.TransientFailure:
			r.Response = message.Response{Code: 451, Content: "4.7.1 try again later"}
		case message.Bounce:
			r.Response = message.Response{Code: 550, Content: "5.1.1 user unknown"}
			r.BounceClassification = "InvalidRecipient"
		default:
			r.Response = message.Response{Code: 250}
		}
		out[i] = r
	}
	return out
}
