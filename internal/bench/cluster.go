package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/hookd/hookd/engine"
	"github.com/hookd/hookd/internal/gcpace"
	"github.com/hookd/hookd/internal/loopback"
	"github.com/hookd/hookd/internal/offheap"
)

// The cluster phase (Config.Cluster): the same records as the hookd phase, offered in turn to the
// members of a cluster of engines in this process. A record is decided and made durable on the
// member it was offered to, which hands its message to the queue's owner unless that is itself, so
// that about (N-1)/N of the records cross from one member to another over loopback. Every member
// delivers to the same receiver; the phase ends when every kept record has arrived.

// clusterJoinTimeout bounds the members' wait for each other at start.
const clusterJoinTimeout = 15 * time.Second

// MemberFigures are one cluster member's totals at the end of the cluster phase.
type MemberFigures struct {
	ID        string `json:"id"`
	Offered   int    `json:"offered"`   // records offered to this member's Log
	Kept      uint64 `json:"kept"`      // of them, kept by its hooks
	Delivered uint64 `json:"delivered"` // messages this member delivered (as its queues' owner)
	Forwarded uint64 `json:"forwarded"` // messages it handed to their queue's owner
	HandedIn  uint64 `json:"handed_in"` // messages other members handed to it
	Queues    int    `json:"queues"`    // queues it owned once every record was delivered
}

// ClusterFigures compare the cluster phase with the single node's (the hookd phase): same records,
// same policy, same receiver.
type ClusterFigures struct {
	Members int `json:"members"`
	// Forwarded is the messages handed from the member that was offered them to their queue's
	// owner, summed over the members; HandedIn is the same seen from the owners.
	Forwarded uint64 `json:"forwarded"`
	HandedIn  uint64 `json:"handed_in"`
	// ForwardedFraction is Forwarded per record offered; ExpectedFraction is (Members-1)/Members,
	// what round-robin offering gives when each queue's records are spread evenly.
	ForwardedFraction float64 `json:"forwarded_fraction"`
	ExpectedFraction  float64 `json:"expected_forwarded_fraction"`
	// DeliverRatio and AcceptRatio are the cluster's delivered/s and accepted/s divided by the
	// single node's.
	DeliverRatio float64 `json:"delivered_per_second_ratio"`
	AcceptRatio  float64 `json:"accepted_per_second_ratio"`
	// SingleCPUPerRecord and ClusterCPUPerRecord are the process's CPU time per record offered in
	// each phase, in µs. ForwardCPU is what a forwarded record costs on top of a local one:
	// (ClusterCPUPerRecord - SingleCPUPerRecord) / ForwardedFraction, in µs (0 when nothing was
	// forwarded).
	SingleCPUPerRecord  float64         `json:"single_cpu_us_per_record"`
	ClusterCPUPerRecord float64         `json:"cluster_cpu_us_per_record"`
	ForwardCPU          float64         `json:"cpu_us_per_forwarded_record"`
	PerMember           []MemberFigures `json:"per_member"`
}

// clusterFiguresOf computes the comparison of a cluster phase with a single node's.
func clusterFiguresOf(single, cl *Phase, members []MemberFigures) *ClusterFigures {
	f := &ClusterFigures{Members: len(members), PerMember: members}
	for _, m := range members {
		f.Forwarded += m.Forwarded
		f.HandedIn += m.HandedIn
	}
	div := func(x, y float64) float64 {
		if y == 0 {
			return 0
		}
		return x / y
	}
	if f.Members > 0 {
		f.ExpectedFraction = float64(f.Members-1) / float64(f.Members)
	}
	f.ForwardedFraction = div(float64(f.Forwarded), float64(cl.Records))
	f.DeliverRatio = div(cl.DeliverRate, single.DeliverRate)
	f.AcceptRatio = div(cl.AcceptRate, single.AcceptRate)
	f.SingleCPUPerRecord = div(single.CPUSeconds*1e6, float64(single.Records))
	f.ClusterCPUPerRecord = div(cl.CPUSeconds*1e6, float64(cl.Records))
	f.ForwardCPU = div(f.ClusterCPUPerRecord-f.SingleCPUPerRecord, f.ForwardedFraction)
	return f
}

// writeTable writes the comparison for a person, and a row per member.
func (f *ClusterFigures) writeTable(w io.Writer) error {
	fmt.Fprintf(w, "\ncluster of %d members in this process, each record offered to the next member in turn:\n", f.Members)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(label, format string, args ...any) {
		fmt.Fprintf(tw, "  %s\t"+format+"\n", append([]any{label}, args...)...)
	}
	row("delivered/s, cluster / single node", "%.2fx", f.DeliverRatio)
	row("accepted/s, cluster / single node", "%.2fx", f.AcceptRatio)
	records := 0
	for _, m := range f.PerMember {
		records += m.Offered
	}
	row("forwarded to the queue's owner", "%d of %d records (%.1f%%; %.1f%% expected), %d handed in",
		f.Forwarded, records, 100*f.ForwardedFraction, 100*f.ExpectedFraction, f.HandedIn)
	row("CPU per record, single node", "%.1f µs", f.SingleCPUPerRecord)
	row("CPU per record, cluster", "%.1f µs", f.ClusterCPUPerRecord)
	if f.ForwardedFraction > 0 {
		row("CPU per forwarded record", "%.1f µs = (%.1f - %.1f µs) / %.3f", f.ForwardCPU, f.ClusterCPUPerRecord,
			f.SingleCPUPerRecord, f.ForwardedFraction)
	} else {
		row("CPU per forwarded record", "- (nothing was forwarded)")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  member\toffered\tkept\tdelivered\tforwarded\thanded in\tqueues owned\t")
	for _, m := range f.PerMember {
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%d\t%d\t%d\t\n", m.ID, m.Offered, m.Kept, m.Delivered, m.Forwarded,
			m.HandedIn, m.Queues)
	}
	return tw.Flush()
}

// member is one engine of the cluster phase.
type member struct {
	id  string
	eng *engine.Engine
	dir string // its temporary spool directory; "" in memory
}

// cluster runs the cluster phase against cfg.Cluster members delivering to url.
func (r *runner) cluster(ctx context.Context, url string) (*Phase, []MemberFigures, error) {
	src, name, err := r.policySource(url)
	if err != nil {
		return nil, nil, err
	}
	members, err := r.startMembers(ctx, src, name)
	if err != nil {
		return nil, nil, err
	}
	if r.cfg.HeapBudget > 0 { // one process, one budget, as for the single node
		defer gcpace.Start(r.cfg.HeapBudget, offheap.Bytes).Stop()
	}
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		return stopMembers(members)
	}
	defer func() { _ = stop() }() // a no-op unless returning early
	engines := make([]*engine.Engine, len(members))
	for i, m := range members {
		engines[i] = m.eng
	}

	n := r.cfg.Records
	spool := "memory"
	if members[0].dir != "" {
		spool = fmt.Sprintf("%d temporary directories", len(members))
	}
	ph := &Phase{Name: "cluster", Records: n, Spool: spool}
	s := newPhaseState("cluster", n, r.recv.Begin(n), true)
	s.queued = func() int64 { return sumStats(engines).Queued }
	m := r.startMeter()
	stopWatch := r.watch(s, m)
	offered := r.offer(ctx, s, engines)
	kept := int64(sumStats(engines).Kept)
	s.expected.Store(kept)
	waitErr := r.waitDelivered(ctx, s.tally, int(kept))
	stopWatch()
	r.finish(ph, s, m)

	figures := make([]MemberFigures, len(members))
	for i, mb := range members {
		figures[i] = MemberFigures{ID: mb.id, Offered: offered[i], Queues: mb.eng.Stats().Queues}
	}
	// Each member's totals are read once it has stopped (a delivery counts once its session has
	// the answer), and the queues each owns before any member leaves.
	if err := stop(); err != nil {
		waitErr = errors.Join(waitErr, fmt.Errorf("stopping the cluster: %w", err))
	}
	for i, mb := range members {
		st := mb.eng.Stats()
		f := &figures[i]
		f.Kept, f.Delivered, f.Forwarded, f.HandedIn = st.Kept, st.Delivered, st.Forwarded, st.HandedIn
		if sp, ok := mb.eng.SpoolStats(); ok {
			ph.SpoolLoads += sp.Loads
			ph.SpoolCacheHits += sp.CacheHits
			ph.SpoolFrames += sp.Frames
			ph.SpoolSyncs += sp.Syncs
		}
	}
	total := sumStats(engines)
	ph.Engine = &total
	if waitErr == nil && ctx.Err() == nil && ph.AcceptErrors > 0 {
		waitErr = fmt.Errorf("%d records refused, the first: %s", ph.AcceptErrors, ph.FirstAcceptError)
	}
	return ph, figures, waitErr
}

// startMembers makes cfg.Cluster engines with the policy, each a member of one cluster on loopback
// addresses, and starts them all at once (each waits for the others). On an error nothing is left
// running.
func (r *runner) startMembers(ctx context.Context, src []byte, name string) ([]*member, error) {
	n := r.cfg.Cluster
	addrs := make([]string, n)
	for i := range addrs {
		addr, err := loopback.FreeAddr()
		if err != nil {
			return nil, err
		}
		addrs[i] = addr
	}
	members := make([]*member, 0, n)
	fail := func(err error) ([]*member, error) { return nil, errors.Join(err, stopMembers(members)) }
	for i := range n {
		mb := &member{id: fmt.Sprintf("m%d", i+1)}
		cfg := engine.Config{Policy: name, PolicySource: src, Logger: r.cfg.Logger.With("member", mb.id),
			HookWorkers: r.cfg.HookWorkers, InMemory: r.cfg.Memory,
			Cluster: &engine.ClusterConfig{ID: mb.id, Listen: addrs[i], JoinTimeout: clusterJoinTimeout,
				Peers: slices.Delete(slices.Clone(addrs), i, i+1)}}
		if !r.cfg.Memory {
			dir, err := os.MkdirTemp("", "hookd-bench-"+mb.id+"-")
			if err != nil {
				return fail(err)
			}
			mb.dir, cfg.SpoolDir = dir, dir
		}
		members = append(members, mb)
		eng, err := engine.New(cfg)
		if err != nil {
			return fail(err)
		}
		mb.eng = eng
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, mb := range members {
		wg.Go(func() {
			if err := mb.eng.Start(ctx); err != nil {
				errs[i] = fmt.Errorf("starting cluster member %s: %w", mb.id, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fail(err)
	}
	return members, nil
}

// stopMembers stops the members one after the other, the last first, and removes their spools.
func stopMembers(members []*member) error {
	var errs []error
	for _, mb := range slices.Backward(members) {
		if mb.eng != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := mb.eng.Stop(ctx); err != nil {
				errs = append(errs, fmt.Errorf("member %s: %w", mb.id, err))
			}
			cancel()
		}
		if mb.dir != "" {
			errs = append(errs, os.RemoveAll(mb.dir))
		}
	}
	return errors.Join(errs...)
}

// sumStats adds up the engines' totals.
func sumStats(engines []*engine.Engine) engine.Stats {
	var t engine.Stats
	for _, e := range engines {
		s := e.Stats()
		t.Received += s.Received
		t.Disabled += s.Disabled
		t.Kept += s.Kept
		t.Dropped += s.Dropped
		t.HookErrors += s.HookErrors
		t.Enqueued += s.Enqueued
		t.Delivered += s.Delivered
		t.Transient += s.Transient
		t.Bounced += s.Bounced
		t.Expired += s.Expired
		t.Queued += s.Queued
		t.Sessions += s.Sessions
		t.Queues += s.Queues
		t.Panics += s.Panics
		t.Interrupted += s.Interrupted
		t.SessionWaits += s.SessionWaits
		t.Forwarded += s.Forwarded
		t.HandedIn += s.HandedIn
	}
	return t
}
