package lua

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/template"
	"github.com/hookd/hookd/throttle"
)

// DefaultBackPressure is the default capacity of a logger's intake (KumoMTA's 128000).
const DefaultBackPressure = 128000

// HookConfig is one kumo.configure_log_hook call.
type HookConfig struct {
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
func (h *HookConfig) TemplateFor(t message.RecordType) *template.Template {
	return templateFor(h.PerRecord, t)
}

// TemplateFor returns the template that renders records of type t, or nil for plain JSON.
func (l *LocalLogConfig) TemplateFor(t message.RecordType) *template.Template {
	return templateFor(l.PerRecord, t)
}

// Enabled reports whether the logger produces records of type t: per_record[t].enable if the type has
// an entry, else per_record.Any.enable if present, else true.
func (h *HookConfig) Enabled(t message.RecordType) bool { return recordEnabled(h.PerRecord, t) }

func recordEnabled(per map[message.RecordType]RecordParams, t message.RecordType) bool {
	if p, ok := per[t]; ok {
		return p.Enable
	}
	if p, ok := per[message.AnyRecord]; ok {
		return p.Enable
	}
	return true
}

// LocalLogConfig is one kumo.configure_local_logs call.
type LocalLogConfig struct {
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
func (l *LocalLogConfig) Enabled(t message.RecordType) bool { return recordEnabled(l.PerRecord, t) }

func parseLocalLogs(v glua.LValue) (*LocalLogConfig, error) {
	f, err := newFields("configure_local_logs", v)
	if err != nil {
		return nil, err
	}
	l := &LocalLogConfig{MaxFileSize: 1_000_000_000, BackPressure: DefaultBackPressure}
	if !f.str("log_dir", &l.LogDir) && f.err == nil {
		f.fail("log_dir", "missing field")
	}
	var size int
	if f.integer("max_file_size", 1, math.MaxInt64, &size) {
		l.MaxFileSize = int64(size)
	}
	f.integer("back_pressure", 1, math.MaxInt32, &l.BackPressure)
	f.integer("compression_level", -7, 22, &l.CompressionLevel)
	f.duration("max_segment_duration", &l.MaxSegmentDuration)
	l.Meta = f.strList("meta")
	l.Headers = f.strList("headers")
	f.str("filter_event", &l.FilterEvent)
	l.MinFreeSpace = f.threshold("min_free_space")
	l.MinFreeInodes = f.threshold("min_free_inodes")
	if pr := f.get("per_record"); pr != nil && f.err == nil {
		l.PerRecord, f.err = parsePerRecord("configure_local_logs.per_record", pr)
	}
	if err := f.done(); err != nil {
		return nil, err
	}
	return l, nil
}

func parseHookConfig(v glua.LValue) (*HookConfig, error) {
	f, err := newFields("configure_log_hook", v)
	if err != nil {
		return nil, err
	}
	h := &HookConfig{BackPressure: DefaultBackPressure}
	if !f.str("name", &h.Name) && f.err == nil {
		f.fail("name", "missing field")
	}
	f.integer("back_pressure", 1, math.MaxInt32, &h.BackPressure)
	h.Meta = f.strList("meta")
	h.Headers = f.strList("headers")
	f.boolean("deferred_spool", &h.DeferredSpool)
	if pr := f.get("per_record"); pr != nil && f.err == nil {
		h.PerRecord, f.err = parsePerRecord("configure_log_hook.per_record", pr)
	}
	if err := f.done(); err != nil {
		return nil, err
	}
	return h, nil
}

func parsePerRecord(what string, v glua.LValue) (map[message.RecordType]RecordParams, error) {
	tbl, ok := v.(*glua.LTable)
	if !ok {
		return nil, fmt.Errorf("%s: expected a table keyed by record type, got %s", what, v.Type())
	}
	out := map[message.RecordType]RecordParams{}
	var err error
	tbl.ForEach(func(k, pv glua.LValue) {
		if err != nil {
			return
		}
		name := k.String()
		t := message.RecordType(name)
		if _, perr := message.ParseRecordType(name); perr != nil && t != message.AnyRecord {
			err = fmt.Errorf("%s: unknown record type `%s`", what, name)
			return
		}
		var p RecordParams
		p, err = parseRecordParams(what+"."+name, pv, name)
		out[t] = p
	})
	return out, err
}

func parseRecordParams(what string, v glua.LValue, kind string) (RecordParams, error) {
	p := RecordParams{Enable: true}
	f, err := newFields(what, v)
	if err != nil {
		return p, err
	}
	p.Suffix = f.optStr("suffix")
	p.LogDir = f.optStr("log_dir")
	f.boolean("enable", &p.Enable)
	p.Template = f.optStr("template")
	f.str("segment_header", &p.SegmentHeader)
	if err := f.done(); err != nil {
		return p, err
	}
	if p.Template != nil {
		if p.Compiled, err = template.Compile(*p.Template, kind); err != nil {
			return p, err
		}
	}
	return p, nil
}

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

// QueueConfig is the value kumo.make_queue_config builds.
type QueueConfig struct {
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

// DefaultQueueConfig is KumoMTA's QueueConfig::default(): SMTP, retry 20m, max_age 7 days.
func DefaultQueueConfig() *QueueConfig {
	return &QueueConfig{
		RetryInterval:   20 * time.Minute,
		MaxAge:          7 * 24 * time.Hour,
		Protocol:        ProtocolSMTP,
		ReapInterval:    10 * time.Minute,
		RefreshInterval: time.Minute,
		RefreshStrategy: "Ttl",
		Strategy:        "SingletonTimerWheel",
	}
}

func parseQueueConfig(v glua.LValue) (*QueueConfig, error) {
	f, err := newFields("make_queue_config", v)
	if err != nil {
		return nil, err
	}
	q := DefaultQueueConfig()
	f.duration("retry_interval", &q.RetryInterval)
	f.duration("max_retry_interval", &q.MaxRetryInterval)
	f.duration("max_age", &q.MaxAge)
	f.str("egress_pool", &q.EgressPool)
	q.MaxMessageRate = f.throttle("max_message_rate")
	f.duration("reap_interval", &q.ReapInterval)
	f.duration("refresh_interval", &q.RefreshInterval)
	f.duration("timerwheel_tick_interval", &q.TimerwheelTickInterval)
	f.str("provider_name", &q.ProviderName)
	if f.str("strategy", &q.Strategy) {
		f.oneOf("strategy", q.Strategy, "TimerWheel", "SkipList", "SingletonTimerWheel", "SingletonTimerWheelV2")
	}
	if f.str("refresh_strategy", &q.RefreshStrategy) {
		f.oneOf("refresh_strategy", q.RefreshStrategy, "Ttl", "Epoch")
	}
	if sp := f.get("shrink_policy"); sp != nil {
		if _, ok := sp.(*glua.LTable); !ok {
			f.fail("shrink_policy", "expected a list, got %s", sp.Type())
		}
	}
	if p := f.get("protocol"); p != nil && f.err == nil {
		f.err = q.parseProtocol(p)
	}
	if err := f.done(); err != nil {
		return nil, err
	}
	return q, nil
}

func (f *fields) oneOf(key, got string, allowed ...string) {
	for _, a := range allowed {
		if got == a {
			return
		}
	}
	f.fail(key, "unknown variant `%s`, expected one of `%s`", got, strings.Join(allowed, "`, `"))
}

func (q *QueueConfig) parseProtocol(v glua.LValue) error {
	f, err := newFields("make_queue_config.protocol", v)
	if err != nil {
		return err
	}
	switch {
	case f.tbl.RawGetString("custom_lua") != glua.LNil:
		cl, err := parseCustomLua(f.get("custom_lua"))
		if err != nil {
			return err
		}
		q.Protocol, q.CustomLua = ProtocolCustomLua, cl
	case f.tbl.RawGetString("smtp") != glua.LNil:
		f.get("smtp")
		q.Protocol = ProtocolSMTP
	case f.tbl.RawGetString("maildir_path") != glua.LNil:
		var path string
		f.str("maildir_path", &path)
		f.get("dir_mode")
		f.get("file_mode")
		q.Protocol = ProtocolMaildir
	case f.tbl.RawGetString("xfer") != glua.LNil:
		f.get("xfer")
		q.Protocol = ProtocolXfer
	default:
		return fmt.Errorf("make_queue_config.protocol: expected one of `smtp`, `custom_lua`, `maildir_path`, `xfer`")
	}
	return f.done()
}

func parseCustomLua(v glua.LValue) (*CustomLua, error) {
	f, err := newFields("make_queue_config.protocol.custom_lua", v)
	if err != nil {
		return nil, err
	}
	cl := &CustomLua{BatchSize: 1, MinBatchSize: 1}
	if !f.str("constructor", &cl.Constructor) && f.err == nil {
		f.fail("constructor", "missing field")
	}
	f.integer("batch_size", 1, 1<<20, &cl.BatchSize)
	f.integer("min_batch_size", 1, 1<<20, &cl.MinBatchSize)
	f.duration("max_batch_latency", &cl.MaxBatchLatency)
	return cl, f.done()
}

// EgressPathConfig is the subset of kumo.make_egress_path that applies to hookd's sessions.
type EgressPathConfig struct {
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

// DefaultEgressPathConfig returns KumoMTA's defaults for the fields hookd uses.
func DefaultEgressPathConfig() *EgressPathConfig {
	return &EgressPathConfig{
		ConnectionLimit:            32,
		MaxDeliveriesPerConnection: 1024,
		MaxReady:                   1024,
		IdleTimeout:                5 * time.Second,
	}
}

// smtpOnlyEgressFields are make_egress_path fields that only concern SMTP delivery: accepted so that
// KumoMTA policies load unmodified, and without effect in hookd.
var smtpOnlyEgressFields = []string{
	"additional_connection_limits", "enable_tls", "enable_mta_sts", "enable_dane", "enable_pipelining",
	"enable_rset", "tls_prefer_openssl", "openssl_cipher_list", "openssl_cipher_suites", "openssl_options",
	"rustls_cipher_suites", "system_shaping", "smtp_port", "smtp_auth_plain_username",
	"smtp_auth_plain_password", "allow_smtp_auth_plain_without_tls", "additional_message_rate_throttles",
	"source_selection_rate", "additional_source_selection_rates", "prohibited_hosts", "skip_hosts",
	"ehlo_domain", "aggressive_connection_opening", "refresh_interval", "refresh_strategy",
	"dispatcher_wakeup_strategy", "maintainer_wakeup_strategy", "remember_broken_tls",
	"opportunistic_tls_reconnect_on_failed_handshake", "use_lmtp", "reconnect_strategy", "readyq_pool_name",
	"low_memory_reduction_policy", "no_memory_reduction_policy", "try_next_host_on_transport_error",
	"ignore_8bit_checks", "tls_certificate", "tls_private_key", "consecutive_connection_failures_before_delay",
	"request_ehlo", "max_recipients_per_batch", "enable_smtputf8",
}

func parseEgressPath(v glua.LValue) (*EgressPathConfig, error) {
	f, err := newFields("make_egress_path", v)
	if err != nil {
		return nil, err
	}
	e := DefaultEgressPathConfig()
	f.integer("connection_limit", 1, math.MaxInt32, &e.ConnectionLimit)
	f.integer("max_deliveries_per_connection", 1, math.MaxInt32, &e.MaxDeliveriesPerConnection)
	f.integer("max_ready", 1, math.MaxInt32, &e.MaxReady)
	e.MaxMessageRate = f.throttle("max_message_rate")
	e.MaxConnectionRate = f.throttle("max_connection_rate")
	f.str("provider_name", &e.ProviderName)
	f.integer("hookd_breaker_failures", 1, math.MaxInt32, &e.BreakerFailures)
	f.duration("hookd_breaker_open_for", &e.BreakerOpenFor)
	f.duration("hookd_breaker_max_open_for", &e.BreakerMaxOpenFor)
	if ct := f.get("client_timeouts"); ct != nil && f.err == nil {
		f.err = e.parseClientTimeouts(ct)
	}
	for _, k := range smtpOnlyEgressFields {
		f.get(k)
	}
	if err := f.done(); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *EgressPathConfig) parseClientTimeouts(v glua.LValue) error {
	f, err := newFields("make_egress_path.client_timeouts", v)
	if err != nil {
		return err
	}
	f.duration("idle_timeout", &e.IdleTimeout)
	var ignored time.Duration
	for _, k := range []string{"connect_timeout", "banner_timeout", "ehlo_timeout", "mail_from_timeout",
		"rcpt_to_timeout", "data_timeout", "data_dot_timeout", "rset_timeout", "starttls_timeout", "auth_timeout"} {
		f.duration(k, &ignored)
	}
	return f.done()
}

// SpoolConfig is a kumo.define_spool call.
type SpoolConfig struct {
	Name, Path, Kind string
	// MinFreeSpace and MinFreeInodes are KumoMTA's thresholds as given: "10%" or an absolute number;
	// "" means the default (10%).
	MinFreeSpace, MinFreeInodes string
	Where                       string
}

// ListenerConfig is a kumo.start_http_listener call.
type ListenerConfig struct {
	Listen       string
	TrustedHosts []string
	Where        string
}

// Config is what a policy configured while its pre_init and init events ran.
type Config struct {
	Hooks     []*HookConfig
	LocalLogs []*LocalLogConfig
	Spools    []*SpoolConfig
	Listeners []*ListenerConfig
}

// Hook returns the hook of that name, or nil.
func (c *Config) Hook(name string) *HookConfig {
	for _, h := range c.Hooks {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// Summary describes the configuration for `hookd check`.
func (c *Config) Summary() string {
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
