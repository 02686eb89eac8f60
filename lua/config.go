package lua

import (
	"fmt"
	"math"
	"strings"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/template"
)

func parseLocalLogs(v glua.LValue) (*config.LocalLogs, error) {
	f, err := newFields("configure_local_logs", v)
	if err != nil {
		return nil, err
	}
	l := &config.LocalLogs{MaxFileSize: 1_000_000_000, BackPressure: config.DefaultBackPressure}
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

func parseHookConfig(v glua.LValue) (*config.Hook, error) {
	f, err := newFields("configure_log_hook", v)
	if err != nil {
		return nil, err
	}
	h := &config.Hook{BackPressure: config.DefaultBackPressure}
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

func parsePerRecord(what string, v glua.LValue) (map[message.RecordType]config.RecordParams, error) {
	tbl, ok := v.(*glua.LTable)
	if !ok {
		return nil, fmt.Errorf("%s: expected a table keyed by record type, got %s", what, v.Type())
	}
	out := map[message.RecordType]config.RecordParams{}
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
		var p config.RecordParams
		p, err = parseRecordParams(what+"."+name, pv, name)
		out[t] = p
	})
	return out, err
}

func parseRecordParams(what string, v glua.LValue, kind string) (config.RecordParams, error) {
	p := config.RecordParams{Enable: true}
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

func parseQueueConfig(v glua.LValue) (*config.Queue, error) {
	f, err := newFields("make_queue_config", v)
	if err != nil {
		return nil, err
	}
	q := config.DefaultQueue()
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
		f.err = parseProtocol(q, p)
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

func parseProtocol(q *config.Queue, v glua.LValue) error {
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
		q.Protocol, q.CustomLua = config.ProtocolCustomLua, cl
	case f.tbl.RawGetString("smtp") != glua.LNil:
		f.get("smtp")
		q.Protocol = config.ProtocolSMTP
	case f.tbl.RawGetString("maildir_path") != glua.LNil:
		var path string
		f.str("maildir_path", &path)
		f.get("dir_mode")
		f.get("file_mode")
		q.Protocol = config.ProtocolMaildir
	case f.tbl.RawGetString("xfer") != glua.LNil:
		f.get("xfer")
		q.Protocol = config.ProtocolXfer
	default:
		return fmt.Errorf("make_queue_config.protocol: expected one of `smtp`, `custom_lua`, `maildir_path`, `xfer`")
	}
	return f.done()
}

func parseCustomLua(v glua.LValue) (*config.CustomLua, error) {
	f, err := newFields("make_queue_config.protocol.custom_lua", v)
	if err != nil {
		return nil, err
	}
	cl := &config.CustomLua{BatchSize: 1, MinBatchSize: 1}
	if !f.str("constructor", &cl.Constructor) && f.err == nil {
		f.fail("constructor", "missing field")
	}
	f.integer("batch_size", 1, 1<<20, &cl.BatchSize)
	f.integer("min_batch_size", 1, 1<<20, &cl.MinBatchSize)
	f.duration("max_batch_latency", &cl.MaxBatchLatency)
	return cl, f.done()
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

func parseEgressPath(v glua.LValue) (*config.EgressPath, error) {
	f, err := newFields("make_egress_path", v)
	if err != nil {
		return nil, err
	}
	e := config.DefaultEgressPath()
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
		f.err = parseClientTimeouts(e, ct)
	}
	for _, k := range smtpOnlyEgressFields {
		f.get(k)
	}
	if err := f.done(); err != nil {
		return nil, err
	}
	return e, nil
}

func parseClientTimeouts(e *config.EgressPath, v glua.LValue) error {
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
