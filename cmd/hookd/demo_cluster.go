package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/hookd/hookd/engine"
	"github.com/hookd/hookd/internal/loopback"
	"github.com/hookd/hookd/internal/sink"
	"github.com/hookd/hookd/message"
)

// maxDemoMembers bounds hookd demo --cluster.
const maxDemoMembers = 9

// demoMember is one engine of hookd demo --cluster.
type demoMember struct {
	id, listen string
	eng        *engine.Engine
	offered    int
	// Read once every record has arrived, before any member leaves.
	queues int
	queued int64
}

// demoCluster is hookd demo with n cluster members in this process: each has its own spool and its
// own cluster transport on loopback, the records are offered to the members in turn (a hundred per
// Log call), and the summary says what each member delivered, forwarded and was handed.
func demoCluster(n, records int, failRate float64, timeout time.Duration, stdout, stderr io.Writer) error {
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
	defer useDefaultLogger(log)() // the cluster membership logs through the default logger
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	members, err := startDemoMembers(ctx, n, dir, demoPolicyFor(url, "per-tenant"), log)
	if err != nil {
		return err
	}
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		return stopDemoMembers(members)
	}
	defer func() { _ = stop() }()
	var where []string
	for _, m := range members {
		where = append(where, m.id+" "+m.listen)
	}
	fmt.Fprintf(stdout, "hookd demo: a cluster of %d members in this process (%s), webhook %s, spools under %s\n",
		n, strings.Join(where, ", "), url, dir)
	fmt.Fprintf(stdout, "  %d synthetic records, a hundred at a time to each member in turn\n", records)

	start := time.Now()
	recs := syntheticRecords(records, start)
	want := 0
	for _, r := range recs {
		if r.Type == message.Delivery || r.Type == message.Bounce || r.Type == message.TransientFailure {
			want++
		}
	}
	for i := 0; i < len(recs); i += 100 {
		m := members[(i/100)%n]
		batch := recs[i:min(i+100, len(recs))]
		if err := m.eng.Log(ctx, batch...); err != nil {
			return fmt.Errorf("member %s: %w", m.id, err)
		}
		m.offered += len(batch)
	}
	waitErr := progress(ctx, stdout, recv, want)
	elapsed := time.Since(start)
	// A member counts a delivery once its session has the webhook's answer, a moment after the
	// webhook counted the record.
	for deadline := time.Now().Add(2 * time.Second); waitErr == nil && time.Now().Before(deadline); {
		var queued int64
		for _, m := range members {
			queued += m.eng.Stats().Queued
		}
		if queued == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, m := range members {
		st := m.eng.Stats()
		m.queues, m.queued = st.Queues, st.Queued
	}
	stopErr := stop()
	total := memberTable(stdout, members)
	summary(stdout, records, want, total, recv.Stats(), elapsed)
	if waitErr != nil {
		return fmt.Errorf("not every record arrived: %w", waitErr)
	}
	return stopErr
}

// startDemoMembers makes n engines, members of one cluster on loopback addresses, each with a
// spool under dir, and starts them all at once (each waits for the others). On an error nothing is
// left running.
func startDemoMembers(ctx context.Context, n int, dir, policy string, log *slog.Logger) ([]*demoMember, error) {
	members := make([]*demoMember, n)
	addrs := make([]string, n)
	for i := range members {
		addr, err := loopback.FreeAddr()
		if err != nil {
			return nil, err
		}
		addrs[i] = addr
		members[i] = &demoMember{id: fmt.Sprintf("m%d", i+1), listen: addrs[i]}
	}
	for i, m := range members {
		eng, err := engine.New(engine.Config{Policy: "demo.lua", PolicySource: []byte(policy),
			SpoolDir: filepath.Join(dir, m.id), Logger: log.With("member", m.id),
			Cluster: &engine.ClusterConfig{ID: m.id, Listen: m.listen, Peers: slices.Delete(slices.Clone(addrs), i, i+1),
				JoinTimeout: 15 * time.Second}})
		if err != nil {
			return nil, err
		}
		m.eng = eng
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, m := range members {
		wg.Go(func() {
			if err := m.eng.Start(ctx); err != nil {
				errs[i] = fmt.Errorf("starting member %s: %w", m.id, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, errors.Join(err, stopDemoMembers(members))
	}
	return members, nil
}

// stopDemoMembers stops the members one after the other, the last first: each hands what it still
// holds to those that remain.
func stopDemoMembers(members []*demoMember) error {
	var errs []error
	for _, m := range slices.Backward(members) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := m.eng.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stopping member %s: %w", m.id, err))
		}
		cancel()
	}
	return errors.Join(errs...)
}

// memberTable prints a row per member and the totals, and returns the members' summed figures.
func memberTable(w io.Writer, members []*demoMember) engine.Stats {
	var t engine.Stats
	var offered, queues int
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "\nmembers")
	fmt.Fprintln(tw, "member\trecords offered\tkept\tdelivered\tforwarded\thanded in\tqueues owned\tqueued\t")
	row := func(id string, offered int, st engine.Stats, queues int, queued int64) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", id, offered, st.Kept, st.Delivered, st.Forwarded,
			st.HandedIn, queues, queued)
	}
	for _, m := range members {
		st := m.eng.Stats()
		row(m.id, m.offered, st, m.queues, m.queued)
		offered += m.offered
		queues += m.queues
		t.Received += st.Received
		t.Disabled += st.Disabled
		t.Kept += st.Kept
		t.Dropped += st.Dropped
		t.HookErrors += st.HookErrors
		t.Enqueued += st.Enqueued
		t.Delivered += st.Delivered
		t.Transient += st.Transient
		t.Bounced += st.Bounced
		t.Expired += st.Expired
		t.Queued += m.queued
		t.Forwarded += st.Forwarded
		t.HandedIn += st.HandedIn
	}
	t.Queues = queues
	row("total", offered, t, queues, t.Queued)
	_ = tw.Flush()
	return t
}
