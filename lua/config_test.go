package lua

import (
	"testing"
	"time"

	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/throttle"
)

func TestConfigureLogHook(t *testing.T) {
	t.Run("every parameter is read", func(t *testing.T) {
		p := load(t, `kumo.on('init', function()
			kumo.configure_log_hook {
				name = 'wh', back_pressure = 10, meta = { 'tenant', 'x-*' }, headers = { 'Subject' },
				deferred_spool = true,
				per_record = { Reception = { enable = false }, Any = { enable = true, suffix = '.x', log_dir = '/d', segment_header = 'h' } },
			}
		end)`)
		h := p.Config().Hook("wh")
		if h == nil || h.BackPressure != 10 || !h.DeferredSpool || len(h.Meta) != 2 || h.Headers[0] != "Subject" {
			t.Fatalf("%+v", h)
		}
		if h.Enabled(message.Reception) || !h.Enabled(message.Delivery) {
			t.Fatal("per_record enable not applied")
		}
		if a := h.PerRecord[message.AnyRecord]; *a.Suffix != ".x" || *a.LogDir != "/d" || a.SegmentHeader != "h" {
			t.Fatalf("Any params %+v", a)
		}
		if h.Where != "policy.lua:2" {
			t.Fatalf("where %q", h.Where)
		}
	})
	t.Run("defaults", func(t *testing.T) {
		p := load(t, `kumo.on('init', function() kumo.configure_log_hook { name = 'wh' } end)`)
		h := p.Config().Hook("wh")
		if h.BackPressure != 128000 || h.DeferredSpool || len(h.Meta) != 0 || !h.Enabled(message.Bounce) {
			t.Fatalf("%+v", h)
		}
	})
	t.Run("Any disables every type without its own entry", func(t *testing.T) {
		p := load(t, `kumo.on('init', function() kumo.configure_log_hook { name = 'wh',
			per_record = { Any = { enable = false }, Bounce = { enable = true } } } end)`)
		h := p.Config().Hook("wh")
		if h.Enabled(message.Delivery) || !h.Enabled(message.Bounce) {
			t.Fatal("wrong selection")
		}
	})
	errs := []struct {
		name, call string
		want       []string
	}{
		{"an unknown key", `kumo.configure_log_hook { name = 'a', filter_event = 'x' }`,
			[]string{"policy.lua:3:", "configure_log_hook: unknown field `filter_event`"}},
		{"a missing name", `kumo.configure_log_hook { meta = {} }`, []string{"policy.lua:3:", "field `name`: missing field"}},
		{"a wrong type", `kumo.configure_log_hook { name = 'a', back_pressure = 'lots' }`,
			[]string{"policy.lua:3:", "field `back_pressure`: expected an integer"}},
		{"an unknown record type", `kumo.configure_log_hook { name = 'a', per_record = { Deliveryy = {} } }`,
			[]string{"policy.lua:3:", "unknown record type `Deliveryy`"}},
		{"an unknown per_record key", `kumo.configure_log_hook { name = 'a', per_record = { Bounce = { enabled = false } } }`,
			[]string{"policy.lua:3:", "per_record.Bounce: unknown field `enabled`"}},
		{"a template that does not compile", `kumo.configure_log_hook { name = 'a', per_record = { Bounce = { template = '{{ x' } } }`,
			[]string{"policy.lua:3:", "compiling template:\n{{ x\nfor log record type Bounce"}},
		{"a duplicate name", "kumo.configure_log_hook { name = 'a' }\nkumo.configure_log_hook { name = 'a' }",
			[]string{"policy.lua:4:", "A logging hook with name `a` has already been registered"}},
	}
	for _, tc := range errs {
		t.Run("is an error with the policy line: "+tc.name, func(t *testing.T) {
			_, err := loadErr("\nkumo.on('init', function()\n" + tc.call + "\nend)")
			wantErr(t, err, tc.want...)
		})
	}
	t.Run("a call at the top level of the policy is refused", func(t *testing.T) {
		_, err := loadErr(`kumo.configure_log_hook { name = 'a' }`)
		wantErr(t, err, "policy.lua:1:", "must be called from the pre_init or init event")
	})
	t.Run("pre_init may configure hooks too", func(t *testing.T) {
		p := load(t, `kumo.on('pre_init', function() kumo.configure_log_hook { name = 'a' } end)
			kumo.on('pre_init', function() kumo.configure_log_hook { name = 'b' } end)`)
		if len(p.Config().Hooks) != 2 {
			t.Fatalf("%d hooks", len(p.Config().Hooks))
		}
	})
}

func TestMakeQueueConfig(t *testing.T) {
	qc := func(t *testing.T, fields string) (*config.Queue, error) {
		t.Helper()
		p := load(t, `kumo.on('get_queue_config', function() return kumo.make_queue_config {`+fields+`} end)`)
		return newState(t, p).QueueConfig(message.ParseQueueName("q"))
	}
	t.Run("every field", func(t *testing.T) {
		c, err := qc(t, `retry_interval = '1m', max_retry_interval = '1h 30m', max_age = '2 days', egress_pool = 'p',
			max_message_rate = '100/s', reap_interval = 60, refresh_interval = 0.5, refresh_strategy = 'Epoch',
			timerwheel_tick_interval = '500ms', strategy = 'SkipList', provider_name = 'prov', shrink_policy = {},
			protocol = { custom_lua = { constructor = 'make.w', batch_size = 10, min_batch_size = 2, max_batch_latency = '2s' } }`)
		if err != nil {
			t.Fatal(err)
		}
		want := config.Queue{RetryInterval: time.Minute, MaxRetryInterval: 90 * time.Minute, MaxAge: 48 * time.Hour,
			EgressPool: "p", MaxMessageRate: throttle.Spec{Limit: 100, Period: time.Second}, Protocol: config.ProtocolCustomLua, ReapInterval: time.Minute,
			RefreshInterval: 500 * time.Millisecond, RefreshStrategy: "Epoch", TimerwheelTickInterval: 500 * time.Millisecond,
			Strategy: "SkipList", ProviderName: "prov", Where: "policy.lua:1"}
		cl := c.CustomLua
		c.CustomLua = nil
		if *c != want {
			t.Fatalf("got  %+v\nwant %+v", *c, want)
		}
		if *cl != (config.CustomLua{Constructor: "make.w", BatchSize: 10, MinBatchSize: 2, MaxBatchLatency: 2 * time.Second}) {
			t.Fatalf("custom_lua %+v", *cl)
		}
	})
	t.Run("defaults are KumoMTA's", func(t *testing.T) {
		c, err := qc(t, ``)
		def := config.DefaultQueue()
		def.Where = "policy.lua:1"
		if err != nil || *c != *def {
			t.Fatalf("%+v %v", c, err)
		}
	})
	durations := []struct {
		lua  string
		want time.Duration
	}{{"10", 10 * time.Second}, {"1.5", 1500 * time.Millisecond}, {"'20 minutes'", 20 * time.Minute},
		{"'1h30m'", 90 * time.Minute}, {"'2days'", 48 * time.Hour}, {"'1w'", 7 * 24 * time.Hour}}
	for _, d := range durations {
		t.Run("duration "+d.lua, func(t *testing.T) {
			c, err := qc(t, "retry_interval = "+d.lua)
			if err != nil || c.RetryInterval != d.want {
				t.Fatalf("%v %v", c, err)
			}
		})
	}
	bad := []struct{ name, fields, want string }{
		{"unknown key", `retry_intervall = '1m'`, "unknown field `retry_intervall`"},
		{"a bare numeric string duration", `retry_interval = '10'`, "field `retry_interval`"},
		{"a negative duration", `max_age = -1`, "field `max_age`"},
		{"unknown custom_lua key", `protocol = { custom_lua = { constructor = 'x', batchsize = 2 } }`, "unknown field `batchsize`"},
		{"custom_lua without constructor", `protocol = { custom_lua = {} }`, "field `constructor`: missing field"},
		{"unknown protocol", `protocol = { http = {} }`, "expected one of"},
		{"unknown strategy", `strategy = 'Fast'`, "unknown variant `Fast`"},
		{"a bad throttle spec", `max_message_rate = '100/fortnight'`, "field `max_message_rate`"},
	}
	for _, tc := range bad {
		t.Run("rejects "+tc.name, func(t *testing.T) {
			_, err := qc(t, tc.fields)
			wantErr(t, err, "policy.lua:1:", "make_queue_config", tc.want)
		})
	}
}

func TestEgressPath(t *testing.T) {
	t.Run("defaults without a handler", func(t *testing.T) {
		e, err := newState(t, load(t, ``)).EgressPath("d", "unspecified", "s")
		if err != nil || *e != *config.DefaultEgressPath() {
			t.Fatalf("%+v %v", e, err)
		}
	})
	t.Run("the handler's values, SMTP-only keys accepted", func(t *testing.T) {
		p := load(t, `kumo.on('get_egress_path_config', function(domain, source, site)
			got = domain .. '|' .. source .. '|' .. site
			return kumo.make_egress_path { connection_limit = 4, max_deliveries_per_connection = 100,
				client_timeouts = { idle_timeout = '30s', connect_timeout = '5s' }, enable_tls = 'Opportunistic' }
		end)`)
		s := newState(t, p)
		e, err := s.EgressPath("webhook.log_hook", "unspecified", "site")
		if err != nil || e.ConnectionLimit != 4 || e.MaxDeliveriesPerConnection != 100 || e.IdleTimeout != 30*time.Second {
			t.Fatalf("%+v %v", e, err)
		}
		if g := eval(t, s, "got"); g != "webhook.log_hook|unspecified|site" {
			t.Fatalf("args %s", g)
		}
	})
	t.Run("an unknown key is an error", func(t *testing.T) {
		p := load(t, `kumo.on('get_egress_path_config', function() return kumo.make_egress_path { conection_limit = 4 } end)`)
		_, err := newState(t, p).EgressPath("d", "s", "x")
		wantErr(t, err, "unknown field `conection_limit`")
	})
}

func TestInitConfiguration(t *testing.T) {
	p := load(t, `kumo.on('init', function()
		kumo.define_spool { name = 'data', path = '/var/spool/hookd', kind = 'RocksDB' }
		kumo.start_http_listener { listen = '0.0.0.0:8000', trusted_hosts = { '127.0.0.1' } }
		kumo.start_esmtp_listener { listen = '0.0.0.0:25' }
	end)`)
	c := p.Config()
	if len(c.Spools) != 1 || c.Spools[0].Path != "/var/spool/hookd" || c.Spools[0].Name != "data" {
		t.Fatalf("spools %+v", c.Spools)
	}
	if len(c.Listeners) != 1 || c.Listeners[0].Listen != "0.0.0.0:8000" || c.Listeners[0].TrustedHosts[0] != "127.0.0.1" {
		t.Fatalf("listeners %+v", c.Listeners)
	}
	_, err := loadErr(`kumo.on('init', function() kumo.define_spool { name = 'x' } end)`)
	wantErr(t, err, "define_spool", "field `path`: missing field")
}

func TestConfigureLocalLogs(t *testing.T) {
	t.Run("every parameter is read", func(t *testing.T) {
		p := load(t, `kumo.on('init', function()
			kumo.configure_local_logs { log_dir = '/var/log/hookd', max_file_size = 1000, back_pressure = 5,
				compression_level = 9, max_segment_duration = '5m', meta = { 'tenant' }, headers = { 'Subject' },
				filter_event = 'keep', min_free_space = '20%', min_free_inodes = 1000,
				per_record = { Delivery = { suffix = '.d', log_dir = '/d', segment_header = 'h' } } }
		end)`)
		if len(p.Config().LocalLogs) != 1 {
			t.Fatal("no local logger configured")
		}
		l := p.Config().LocalLogs[0]
		if l.LogDir != "/var/log/hookd" || l.MaxFileSize != 1000 || l.BackPressure != 5 || l.CompressionLevel != 9 ||
			l.MaxSegmentDuration != 5*time.Minute || l.FilterEvent != "keep" || l.MinFreeSpace != "20%" ||
			l.MinFreeInodes != "1000" || *l.PerRecord[message.Delivery].Suffix != ".d" || l.Where != "policy.lua:2" {
			t.Fatalf("%+v", l)
		}
	})
	t.Run("defaults are KumoMTA's", func(t *testing.T) {
		p := load(t, `kumo.on('init', function() kumo.configure_local_logs { log_dir = 'x' } end)`)
		l := p.Config().LocalLogs[0]
		if l.MaxFileSize != 1_000_000_000 || l.BackPressure != 128000 || l.MaxSegmentDuration != 0 || l.FilterEvent != "" {
			t.Fatalf("%+v", l)
		}
	})
	for _, tc := range []struct{ name, call, want string }{
		{"an unknown key", `kumo.configure_local_logs { log_dir = 'x', rotate = true }`, "unknown field `rotate`"},
		{"no log_dir", `kumo.configure_local_logs { }`, "field `log_dir`: missing field"},
		{"a bad compression level", `kumo.configure_local_logs { log_dir = 'x', compression_level = 30 }`, "compression_level"},
	} {
		t.Run("rejects "+tc.name, func(t *testing.T) {
			_, err := loadErr("kumo.on('init', function()\n" + tc.call + "\nend)")
			wantErr(t, err, "policy.lua:2:", tc.want)
		})
	}
}

func TestTemplateChoice(t *testing.T) {
	p := load(t, `kumo.on('init', function() kumo.configure_log_hook { name = 'h', per_record = {
		Any = { template = 'any {{ type }}' },
		Delivery = { template = 'delivery {{ id }}' },
		Bounce = { enable = true },
	} } end)`)
	h := p.Config().Hook("h")
	render := func(kind message.RecordType) string {
		tpl := h.TemplateFor(kind)
		if tpl == nil {
			return "json"
		}
		out, err := tpl.Render(&message.LogRecord{Type: kind, ID: "abc"})
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	for kind, want := range map[message.RecordType]string{
		message.Delivery:         "delivery abc", // its own template
		message.Bounce:           "json",         // an entry without a template: plain JSON, not Any's
		message.TransientFailure: "any TransientFailure",
	} {
		if got := render(kind); got != want {
			t.Errorf("%s renders %q, want %q", kind, got, want)
		}
	}
}
