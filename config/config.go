// Package config is the typed configuration a policy produces: the log hooks, local logs, spools and
// listeners its init event configures, and the queue and egress path settings get_queue_config and
// get_egress_path_config return. The lua package builds these values; the actors and the engine read
// them. Every value is plain data: once built it is never changed.
package config

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/template"
	"github.com/hookd/hookd/throttle"
)

// DefaultBackPressure is the default capacity of a logger's intake (KumoMTA's 128000).
const DefaultBackPressure = 128000

// Hook is one kumo.configure_log_hook call.
type Hook struct {
	Name          string
	BackPressure  int
	Meta          []string
	Headers       []string
	PerRecord     map[message.RecordType]RecordParams // keys are record types or message.AnyRecord
	DeferredSpool bool
	Where         string // policy location of the call, "init.lua:12"
}

// RecordParams are the per_record settings of a logger for one record type.
type RecordParams struct {
	Suffix        *string
	LogDir        *string
	Enable        bool
	Template      *string
	Compiled      *template.Template // Template, compiled at configure time
	SegmentHeader string
}

// templateFor is KumoMTA's template choice: the record type's own entry decides (its template, or
// none: plain JSON) when it exists; only without one does the Any entry's template apply.
func templateFor(per map[message.RecordType]RecordParams, t message.RecordType) *template.Template {
	if p, ok := per[t]; ok {
		return p.Compiled
	}
	return per[message.AnyRecord].Compiled
}

// TemplateFor returns the template that renders records of type t, or nil for plain JSON.
func (h *Hook) TemplateFor(t message.RecordType) *template.Template {
	return templateFor(h.PerRecord, t)
}

// TemplateFor returns the template that renders records of type t, or nil for plain JSON.
func (l *LocalLogs) TemplateFor(t message.RecordType) *template.Template {
	return templateFor(l.PerRecord, t)
}

// Enabled reports whether the logger produces records of type t: per_record[t].enable if the type has
// an entry, else per_record.Any.enable if present, else true.
func (h *Hook) Enabled(t message.RecordType) bool { return recordEnabled(h.PerRecord, t) }

func recordEnabled(per map[message.RecordType]RecordParams, t message.RecordType) bool {
	if p, ok := per[t]; ok {
		return p.Enable
	}
	if p, ok := per[message.AnyRecord]; ok {
		return p.Enable
	}
	return true
}

// LocalLogs is one kumo.configure_local_logs call.
type LocalLogs struct {
	LogDir                      string
	MaxFileSize                 int64
	BackPressure                int
	CompressionLevel            int
	MaxSegmentDuration          time.Duration
	Meta, Headers               []string
	PerRecord                   map[message.RecordType]RecordParams
	FilterEvent                 string // "" = no filter
	MinFreeSpace, MinFreeInodes string // "" = the default, 10%
	Where                       string
}

// Enabled reports whether the logger writes records of type t (per_record enable, as for hooks).
func (l *LocalLogs) Enabled(t message.RecordType) bool { return recordEnabled(l.PerRecord, t) }

// Protocol kinds of a queue.
const (
	ProtocolSMTP      = "smtp"
	ProtocolCustomLua = "custom_lua"
	ProtocolMaildir   = "maildir"
	ProtocolXfer      = "xfer"
)

// CustomLua is the protocol.custom_lua table of a queue config.
type CustomLua struct {
	Constructor     string
	BatchSize       int
	MinBatchSize    int
	MaxBatchLatency time.Duration
}

// Queue is the value kumo.make_queue_config builds.
type Queue struct {
	RetryInterval          time.Duration
	MaxRetryInterval       time.Duration // 0 = none
	MaxAge                 time.Duration
	EgressPool             string        // "" = unspecified
	MaxMessageRate         throttle.Spec // zero = none
	Protocol               string        // one of the Protocol* constants
	CustomLua              *CustomLua
	ReapInterval           time.Duration
	RefreshInterval        time.Duration
	RefreshStrategy        string
	TimerwheelTickInterval time.Duration
	Strategy               string
	ProviderName           string
	Where                  string // policy location of the make_queue_config call
}

// DefaultQueue is KumoMTA's QueueConfig::default(): SMTP, retry 20m, max_age 7 days.
func DefaultQueue() *Queue {
	return &Queue{
		RetryInterval:   20 * time.Minute,
		MaxAge:          7 * 24 * time.Hour,
		Protocol:        ProtocolSMTP,
		ReapInterval:    10 * time.Minute,
		RefreshInterval: time.Minute,
		RefreshStrategy: "Ttl",
		Strategy:        "SingletonTimerWheel",
	}
}

// EgressPath is the subset of kumo.make_egress_path that applies to hookd's sessions.
type EgressPath struct {
	ConnectionLimit            int
	MaxDeliveriesPerConnection int
	MaxReady                   int
	IdleTimeout                time.Duration
	MaxMessageRate             throttle.Spec // zero = none
	MaxConnectionRate          throttle.Spec // zero = none (accepted; hookd opens sessions as needed)
	ProviderName               string
	// hookd extensions: the destination's circuit breaker (0 = hookd's defaults).
	BreakerFailures   int
	BreakerOpenFor    time.Duration
	BreakerMaxOpenFor time.Duration
}

// DefaultEgressPath returns KumoMTA's defaults for the fields hookd uses.
func DefaultEgressPath() *EgressPath {
	return &EgressPath{
		ConnectionLimit:            32,
		MaxDeliveriesPerConnection: 1024,
		MaxReady:                   1024,
		IdleTimeout:                5 * time.Second,
	}
}

// Spool is a kumo.define_spool call.
type Spool struct {
	Name, Path, Kind string
	// MinFreeSpace and MinFreeInodes are KumoMTA's thresholds as given: "10%" or an absolute number;
	// "" means the default (10%).
	MinFreeSpace, MinFreeInodes string
	Where                       string
}

// Listener is a kumo.start_http_listener call.
type Listener struct {
	Listen       string
	TrustedHosts []string
	Where        string
}

// Policy is what a policy configured while its pre_init and init events ran.
type Policy struct {
	Hooks     []*Hook
	LocalLogs []*LocalLogs
	Spools    []*Spool
	Listeners []*Listener
}

// Hook returns the hook of that name, or nil.
func (c *Policy) Hook(name string) *Hook {
	for _, h := range c.Hooks {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// Summary describes the configuration for `hookd check`.
func (c *Policy) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "log hooks: %d\n", len(c.Hooks))
	for _, h := range c.Hooks {
		var kinds []string
		for _, t := range message.RecordTypes() {
			if h.Enabled(t) {
				kinds = append(kinds, string(t))
			}
		}
		sort.Strings(kinds)
		fmt.Fprintf(&b, "  %s (%s): back_pressure=%d meta=%v headers=%v deferred_spool=%v records=%s\n",
			h.Name, h.Where, h.BackPressure, h.Meta, h.Headers, h.DeferredSpool, strings.Join(kinds, ","))
	}
	for _, l := range c.LocalLogs {
		fmt.Fprintf(&b, "local logs: %s (%s): max_file_size=%d max_segment_duration=%s filter_event=%q\n",
			l.LogDir, l.Where, l.MaxFileSize, message.FormatDuration(l.MaxSegmentDuration), l.FilterEvent)
	}
	for _, s := range c.Spools {
		fmt.Fprintf(&b, "spool: %s at %s (%s)\n", s.Name, s.Path, s.Where)
	}
	for _, l := range c.Listeners {
		fmt.Fprintf(&b, "http listener: %s (%s)\n", l.Listen, l.Where)
	}
	return b.String()
}
