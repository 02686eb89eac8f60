package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"text/tabwriter"

	"github.com/hookd/hookd/engine"
)

// Report is what a run measured.
type Report struct {
	Settings    Settings `json:"settings"`
	RecordBytes float64  `json:"record_bytes_mean"` // webhook body of one record, mean
	WebhookURL  string   `json:"webhook_url"`
	Baseline    *Phase   `json:"baseline,omitempty"`
	Hookd       *Phase   `json:"hookd,omitempty"`
	// Cluster is the cluster phase (Config.Cluster), and ClusterFigures its comparison with the
	// hookd phase.
	Cluster        *Phase          `json:"cluster,omitempty"`
	ClusterFigures *ClusterFigures `json:"cluster_figures,omitempty"`
	// Ratio is every figure of the hookd phase divided by the baseline's.
	Ratio *Ratio `json:"ratio_to_baseline,omitempty"`
	// ProcessPeakRSS is the bench process's lifetime peak resident set (VmHWM, or ru_maxrss).
	ProcessPeakRSS int64 `json:"process_peak_rss_bytes"`
}

// Settings are the run's parameters after defaults.
type Settings struct {
	Records      int     `json:"records"`
	Rate         float64 `json:"rate"`
	Concurrency  int     `json:"concurrency"`
	LogBatch     int     `json:"log_batch"`
	Connections  int     `json:"connections"`
	Batch        int     `json:"batch"`
	MinBatch     int     `json:"min_batch"`
	BatchLatency string  `json:"batch_latency"`
	Mix          string  `json:"mix"`
	Queues       int     `json:"queues"`
	Seed         uint64  `json:"seed"`
	FailRate     float64 `json:"fail_rate"`
	Policy       string  `json:"policy"`
	HookWorkers  int     `json:"hook_workers,omitempty"`
	Target       string  `json:"target,omitempty"`
	Dead         bool    `json:"dead,omitempty"`
	Cluster      int     `json:"cluster,omitempty"`
	GOMAXPROCS   int     `json:"gomaxprocs"`
	NumCPU       int     `json:"num_cpu"`
}

func settingsOf(c Config) Settings {
	policy := "built-in: one record per POST"
	switch {
	case c.Target != "":
		policy = "the target node's"
	case c.PolicyFile != "":
		policy = c.PolicyFile
	case c.Batch > 1:
		policy = fmt.Sprintf("built-in: send_batch, %d records per POST", c.Batch)
	}
	return Settings{Records: c.Records, Rate: c.Rate, Concurrency: c.Concurrency, LogBatch: c.LogBatch,
		Connections: c.Connections, Batch: c.Batch, MinBatch: c.MinBatch, BatchLatency: c.BatchLatency.String(),
		Mix: c.Mix.String(), Queues: c.Queues, Seed: c.Seed, FailRate: c.FailRate, Policy: policy, HookWorkers: c.HookWorkers,
		Target: c.Target, Dead: c.Dead, Cluster: c.Cluster, GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU()}
}

// Phase is what one phase (baseline, hookd or cluster) measured.
type Phase struct {
	Name  string `json:"name"`
	Spool string `json:"spool,omitempty"` // the engine's spool directory, "memory", or the target
	// Records were sent; Accepted were taken (Log returned, the node answered 200, or a baseline
	// worker took them); AcceptErrors were refused.
	Records          int    `json:"records"`
	Accepted         int    `json:"accepted"`
	AcceptErrors     int    `json:"accept_errors"`
	FirstAcceptError string `json:"first_accept_error,omitempty"`
	// Expected is the number of distinct records the receiver should get: what the hooks kept
	// (-1: unknown). Missing is how many of them did not arrive; MissingSeqs names a few when every
	// record was expected.
	Expected    int   `json:"expected"`
	Missing     int   `json:"missing"`
	MissingSeqs []int `json:"missing_seqs,omitempty"`
	// Complete: every expected record arrived, decoded and nothing was refused.
	Complete bool   `json:"complete"`
	Receiver Counts `json:"receiver"`
	// AttemptsPerRecord is records sent to the webhook (failed requests included) per distinct
	// record received.
	AttemptsPerRecord float64 `json:"attempts_per_record"`
	AcceptSeconds     float64 `json:"accept_seconds"`       // phase start to the last acceptance
	AcceptRate        float64 `json:"accepted_per_second"`  // Accepted / AcceptSeconds
	DeliverSeconds    float64 `json:"deliver_seconds"`      // phase start to the last new arrival
	DeliverRate       float64 `json:"delivered_per_second"` // distinct records / DeliverSeconds
	// Deliver99Rate is the first 99% of the records divided by the time until they had arrived: the
	// rate without the tail of the few records that failed several times in a row (each retry waits
	// at least a second).
	Deliver99Rate float64       `json:"delivered_99_per_second"`
	WallSeconds   float64       `json:"wall_seconds"`       // phase start to its end
	Latency       Latency       `json:"latency"`            // acceptance to first arrival
	CPUSeconds    float64       `json:"cpu_seconds"`        // user + system of the whole process
	CPUPer1k      float64       `json:"cpu_seconds_per_1k"` // CPUSeconds per thousand records
	PeakRSS       int64         `json:"peak_rss_bytes"`     // sampled every 50ms during the phase
	RSSBefore     int64         `json:"rss_before_bytes"`   // at the phase's start
	Engine        *engine.Stats `json:"engine,omitempty"`   // the in-process engine's totals
	// SpoolLoads and SpoolCacheHits: message bodies the in-process engine read back from its
	// spool to deliver, and how many of them its frame cache served; SpoolFrames and SpoolSyncs:
	// the frames its spool wrote and the fsync rounds that made them durable.
	SpoolLoads     uint64       `json:"spool_loads,omitempty"`
	SpoolCacheHits uint64       `json:"spool_cache_hits,omitempty"`
	SpoolFrames    uint64       `json:"spool_frames,omitempty"`
	SpoolSyncs     uint64       `json:"spool_syncs,omitempty"`
	Node           *NodeFigures `json:"node,omitempty"` // the target node's own figures
	// Dead-webhook mode: messages queued, RSS with them queued (after a GC), per message above
	// RSSBefore, and the spool's size on disk.
	Queued       int64   `json:"queued,omitempty"`
	RSSQueued    int64   `json:"rss_queued_bytes,omitempty"`
	RSSPerQueued float64 `json:"rss_per_queued_bytes,omitempty"`
	SpoolBytes   int64   `json:"spool_bytes,omitempty"`
}

// Ratio is hookd's figure divided by the baseline's, for each figure (0 when the baseline's is 0).
type Ratio struct {
	AcceptRate        float64 `json:"accepted_per_second"`
	DeliverRate       float64 `json:"delivered_per_second"`
	Deliver99Rate     float64 `json:"delivered_99_per_second"`
	P50               float64 `json:"latency_p50"`
	P99               float64 `json:"latency_p99"`
	P999              float64 `json:"latency_p999"`
	CPUPer1k          float64 `json:"cpu_seconds_per_1k"`
	PeakRSS           float64 `json:"peak_rss"`
	AttemptsPerRecord float64 `json:"attempts_per_record"`
}

func ratioOf(h, b *Phase) *Ratio {
	div := func(x, y float64) float64 {
		if y == 0 {
			return 0
		}
		return x / y
	}
	return &Ratio{
		AcceptRate: div(h.AcceptRate, b.AcceptRate), DeliverRate: div(h.DeliverRate, b.DeliverRate),
		Deliver99Rate: div(h.Deliver99Rate, b.Deliver99Rate),
		P50:           div(h.Latency.P50, b.Latency.P50), P99: div(h.Latency.P99, b.Latency.P99),
		P999: div(h.Latency.P999, b.Latency.P999), CPUPer1k: div(h.CPUPer1k, b.CPUPer1k),
		PeakRSS:           div(float64(h.PeakRSS), float64(b.PeakRSS)),
		AttemptsPerRecord: div(h.AttemptsPerRecord, b.AttemptsPerRecord),
	}
}

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteTable writes the report for a person: the settings, then one row per figure with a column
// per phase and, with a baseline, hookd's figure as a multiple of the baseline's.
func (rep *Report) WriteTable(w io.Writer) error {
	s := rep.Settings
	fmt.Fprintf(w, "hookd bench: %d records (%.0f bytes mean), mix %s, %d queue(s), policy %s\n",
		s.Records, rep.RecordBytes, s.Mix, s.Queues, s.Policy)
	rate := "as fast as possible"
	if s.Rate > 0 {
		rate = fmt.Sprintf("%g records/s", s.Rate)
	}
	fmt.Fprintf(w, "  offered %s, concurrency %d, %d record(s) per Log call, connections %d, fail rate %g, GOMAXPROCS %d\n",
		rate, s.Concurrency, s.LogBatch, s.Connections, s.FailRate, s.GOMAXPROCS)
	if s.HookWorkers > 0 {
		fmt.Fprintf(w, "  %d Lua states per log hook\n", s.HookWorkers)
	}
	if rep.Hookd != nil && rep.Hookd.Spool != "" {
		fmt.Fprintf(w, "  spool %s, webhook %s\n", rep.Hookd.Spool, rep.WebhookURL)
	}
	fmt.Fprintln(w)

	phases := []*Phase{}
	header := "\t"
	for _, p := range []*Phase{rep.Hookd, rep.Cluster, rep.Baseline} {
		if p != nil {
			phases = append(phases, p)
			header += p.Name + "\t"
		}
	}
	if rep.Ratio != nil {
		header += "hookd/baseline\t"
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, header)
	row := func(label string, value func(*Phase) string, ratio float64) {
		line := label + "\t"
		for _, p := range phases {
			line += value(p) + "\t"
		}
		if rep.Ratio != nil {
			if ratio > 0 {
				line += fmt.Sprintf("%.2fx", ratio)
			}
			line += "\t"
		}
		fmt.Fprintln(tw, line)
	}
	r := rep.Ratio
	if r == nil {
		r = &Ratio{}
	}
	num := func(f func(*Phase) float64, format string) func(*Phase) string {
		return func(p *Phase) string { return fmt.Sprintf(format, f(p)) }
	}
	row("records accepted", func(p *Phase) string { return fmt.Sprint(p.Accepted) }, 0)
	row("accepted/s", num(func(p *Phase) float64 { return p.AcceptRate }, "%.0f"), r.AcceptRate)
	row("delivered (distinct)", func(p *Phase) string { return delivered(p) }, 0)
	row("delivered/s end-to-end", num(func(p *Phase) float64 { return p.DeliverRate }, "%.0f"), r.DeliverRate)
	row("delivered/s, first 99%", num(func(p *Phase) float64 { return p.Deliver99Rate }, "%.0f"), r.Deliver99Rate)
	row("latency p50 (ms)", num(func(p *Phase) float64 { return p.Latency.P50 }, "%.2f"), r.P50)
	row("latency p99 (ms)", num(func(p *Phase) float64 { return p.Latency.P99 }, "%.2f"), r.P99)
	row("latency p99.9 (ms)", num(func(p *Phase) float64 { return p.Latency.P999 }, "%.2f"), r.P999)
	row("latency max (ms)", num(func(p *Phase) float64 { return p.Latency.Max }, "%.2f"), 0)
	row("CPU s per 1k records", num(func(p *Phase) float64 { return p.CPUPer1k }, "%.3f"), r.CPUPer1k)
	row("peak RSS (MiB)", num(func(p *Phase) float64 { return mib(p.PeakRSS) }, "%.1f"), r.PeakRSS)
	row("webhook requests", func(p *Phase) string { return fmt.Sprint(p.Receiver.Requests) }, 0)
	row("  failed on purpose", func(p *Phase) string { return fmt.Sprint(p.Receiver.FailedRequests) }, 0)
	row("attempts per record", num(func(p *Phase) float64 { return p.AttemptsPerRecord }, "%.3f"), r.AttemptsPerRecord)
	row("duplicates", func(p *Phase) string { return fmt.Sprint(p.Receiver.Duplicates) }, 0)
	row("decoded in full (errors)", func(p *Phase) string {
		return fmt.Sprintf("%d (%d)", p.Receiver.Decoded, p.Receiver.DecodeErrors)
	}, 0)
	if h := rep.Hookd; h != nil && h.Node != nil {
		row("node CPU s per 1k records", func(p *Phase) string {
			return nodeOr(p, func(n *NodeFigures) string { return fmt.Sprintf("%.3f", n.CPUPer1k) })
		}, 0)
		row("node peak RSS (MiB)", func(p *Phase) string {
			return nodeOr(p, func(n *NodeFigures) string { return fmt.Sprintf("%.1f", mib(n.PeakRSS)) })
		}, 0)
	}
	if h := rep.Hookd; h != nil && rep.Settings.Dead {
		row("queued", func(p *Phase) string { return fmt.Sprint(p.Queued) }, 0)
		row("RSS with all queued (MiB)", num(func(p *Phase) float64 { return mib(p.RSSQueued) }, "%.1f"), 0)
		row("RSS per queued record (B)", num(func(p *Phase) float64 { return p.RSSPerQueued }, "%.0f"), 0)
		row("spool on disk (MiB)", num(func(p *Phase) float64 { return mib(p.SpoolBytes) }, "%.1f"), 0)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range phases {
		if e := p.Engine; e != nil {
			fmt.Fprintf(w, "\n%s engine: kept %d, delivered %d, transient failures %d, bounced %d, queued %d\n",
				p.Name, e.Kept, e.Delivered, e.Transient, e.Bounced, e.Queued)
			if p.SpoolLoads > 0 {
				fmt.Fprintf(w, "%s spool: %d bodies read back to deliver, %.1f%% from the frame cache\n",
					p.Name, p.SpoolLoads, 100*float64(p.SpoolCacheHits)/float64(p.SpoolLoads))
			}
			if p.SpoolSyncs > 0 && p.Records > 0 {
				fmt.Fprintf(w, "%s spool: %d frames in %d fsyncs, %.2f fsyncs per record\n",
					p.Name, p.SpoolFrames, p.SpoolSyncs, float64(p.SpoolSyncs)/float64(p.Records))
			}
		}
		if !p.Complete && !rep.Settings.Dead {
			fmt.Fprintf(w, "%s: INCOMPLETE: %s\n", p.Name, incomplete(p))
		}
	}
	if f := rep.ClusterFigures; f != nil {
		if err := f.writeTable(w); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "process peak RSS %.1f MiB\n", mib(rep.ProcessPeakRSS))
	return nil
}

// delivered shows distinct records received out of those expected.
func delivered(p *Phase) string {
	if p.Expected < 0 {
		return fmt.Sprintf("%d of ?", p.Receiver.Unique)
	}
	return fmt.Sprintf("%d of %d", p.Receiver.Unique, p.Expected)
}

// incomplete says why a phase is not complete.
func incomplete(p *Phase) string {
	var why []string
	if p.Expected < 0 {
		why = append(why, "the number of records to expect is unknown")
	}
	if p.Missing > 0 {
		why = append(why, fmt.Sprintf("%d records missing (first: %v)", p.Missing, p.MissingSeqs))
	}
	if p.AcceptErrors > 0 {
		why = append(why, fmt.Sprintf("%d records refused (%s)", p.AcceptErrors, p.FirstAcceptError))
	}
	c := p.Receiver
	if c.DecodeErrors > 0 {
		why = append(why, fmt.Sprintf("%d requests failed to decode (%s)", c.DecodeErrors, c.FirstError))
	}
	if c.BadRequests > 0 || c.OutOfRange > 0 {
		why = append(why, fmt.Sprintf("%d malformed requests, %d unknown sequence numbers", c.BadRequests, c.OutOfRange))
	}
	return strings.Join(why, "; ")
}

func nodeOr(p *Phase, f func(*NodeFigures) string) string {
	if p.Node == nil {
		return "-"
	}
	return f(p.Node)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
