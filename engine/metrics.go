package engine

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hookd/hookd/persistence/segment"
)

var (
	descSpoolLive     = prometheus.NewDesc("hookd_spool_messages", "Messages in the spool.", nil, nil)
	descSpoolBytes    = prometheus.NewDesc("hookd_spool_disk_bytes", "Bytes in the spool's segment files.", nil, nil)
	descSpoolSegments = prometheus.NewDesc("hookd_spool_segments", "Segment files in the spool.", nil, nil)
	descSpoolSyncs    = prometheus.NewDesc("hookd_spool_fsyncs_total", "fsync rounds of the spool (group commits).", nil, nil)
	descSpoolFrames   = prometheus.NewDesc("hookd_spool_frames_total", "Frames written to the spool.", nil, nil)
	descSpoolRefused  = prometheus.NewDesc("hookd_spool_refused_total", "Messages refused for lack of disk space.", nil, nil)
	descSpoolLow      = prometheus.NewDesc("hookd_spool_low_space", "1 while the spool's disk is below its minimum free space.", nil, nil)
	descSpoolDeleted  = prometheus.NewDesc("hookd_spool_segments_deleted_total", "Finished segments deleted.", nil, nil)
	descSpoolMoved    = prometheus.NewDesc("hookd_spool_compacted_messages_total", "Messages moved by compaction.", nil, nil)
	descSpoolLoads    = prometheus.NewDesc("hookd_spool_loads_total", "Messages read back from the spool to be delivered.", nil, nil)
	descSpoolHits     = prometheus.NewDesc("hookd_spool_load_cache_hits_total", "Loads served by the spool's cache of recent frames, without reading or decompressing.", nil, nil)
)

// newRegistry makes the Prometheus registry of a started engine: Go and process figures, the
// actors' figures, and the spool's.
func (e *Engine) newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	c := e.sys.Collector()
	if st, ok := e.spool.(*segment.Store); ok {
		c.Add(func(ch chan<- prometheus.Metric) {
			s := st.Stats()
			gauge := func(d *prometheus.Desc, v float64) {
				ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
			}
			counter := func(d *prometheus.Desc, v uint64) {
				ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
			}
			gauge(descSpoolLive, float64(s.Live))
			gauge(descSpoolBytes, float64(s.DiskBytes))
			gauge(descSpoolSegments, float64(s.Segments))
			counter(descSpoolSyncs, s.Syncs)
			counter(descSpoolFrames, s.Frames)
			counter(descSpoolRefused, s.Refused)
			counter(descSpoolDeleted, s.SegmentsDeleted)
			counter(descSpoolMoved, s.Moved)
			counter(descSpoolLoads, s.Loads)
			counter(descSpoolHits, s.CacheHits)
			low := 0.0
			if s.LowSpace {
				low = 1
			}
			gauge(descSpoolLow, low)
		})
	}
	reg.MustRegister(c)
	return reg
}

// MetricsHandler serves the engine's metrics in Prometheus text format (503 before Start).
func (e *Engine) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		reg := e.registry
		e.mu.Unlock()
		if reg == nil {
			http.Error(w, "hookd: engine not started", http.StatusServiceUnavailable)
			return
		}
		promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, r)
	})
}
