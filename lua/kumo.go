package lua

import (
	"fmt"
	"log/slog"
	"strings"

	glua "github.com/yuin/gopher-lua"

	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/lua/luahttp"
	"github.com/hookd/hookd/lua/luaserde"
	"github.com/hookd/hookd/lua/luatype"
	"github.com/hookd/hookd/message"
)

// smtpOnlyFunctions are kumo functions that configure SMTP, which hookd does not have. A KumoMTA
// policy calling them still loads; each call logs a warning once per state and does nothing.
var smtpOnlyFunctions = []string{
	"start_esmtp_listener", "configure_accounting_db_path", "set_spoolin_threads", "set_httpinject_threads",
	"set_logging_threads", "set_qmaint_threads", "configure_bounce_classifier", "set_diagnostic_log_filter",
	"configure_redis_throttles", "set_lruttl_cache_capacity", "set_config_monitor_globs",
}

// openKumo builds the kumo module of a state: the global `kumo`, and `require 'kumo'`.
func (s *State) openKumo() {
	L := s.L
	kumo := L.NewTable()
	fns := map[string]glua.LGFunction{
		"on":                   s.on,
		"configure_log_hook":   s.configureLogHook,
		"configure_local_logs": s.configureLocalLogs,
		"define_spool":         s.defineSpool,
		"start_http_listener":  s.startHTTPListener,
		"make_queue_config":    makeQueueConfig,
		"make_egress_path":     makeEgressPath,
		"reject":               reject,
		"disconnect":           reject,
		"log_debug":            s.logAt(slog.LevelDebug),
		"log_info":             s.logAt(slog.LevelInfo),
		"log_warn":             s.logAt(slog.LevelWarn),
		"log_error":            s.logAt(slog.LevelError),
	}
	for name, fn := range fns {
		kumo.RawSetString(name, L.NewFunction(fn))
	}
	warned := map[string]bool{}
	for _, name := range smtpOnlyFunctions {
		name := name
		kumo.RawSetString(name, L.NewFunction(func(L *glua.LState) int {
			if !warned[name] {
				warned[name] = true
				s.policy.log.Warn("ignored: hookd has no SMTP", "function", "kumo."+name, "at", location(L))
			}
			return 0
		}))
	}
	luaserde.Open(L, kumo)
	luahttp.Open(L, kumo, s.policy.opts.HTTP)
	openFunctions(L, kumo, s.policy.opts.Functions)
	for _, ext := range s.policy.opts.Extensions {
		ext(L, kumo)
	}
	luatype.Protect(L)
	L.SetGlobal("kumo", kumo)
	if pkg, ok := L.GetGlobal("package").(*glua.LTable); ok {
		if loaded, ok := pkg.RawGetString("loaded").(*glua.LTable); ok {
			loaded.RawSetString("kumo", kumo)
		}
	}
}

// configurable rejects configuration calls outside pre_init and init: they would run again in every
// Lua state the engine builds.
func (s *State) configurable(L *glua.LState, fn string) {
	if !s.configuring || s.current == "" {
		L.RaiseError("kumo.%s must be called from the pre_init or init event, not at the top level of the policy", fn)
	}
}

func (s *State) configureLogHook(L *glua.LState) int {
	s.configurable(L, "configure_log_hook")
	h, err := parseHookConfig(L.Get(1))
	if err != nil {
		L.RaiseError("%v", err)
	}
	if s.policy.config.Hook(h.Name) != nil {
		L.RaiseError("A logging hook with name `%s` has already been registered", h.Name)
	}
	h.Where = location(L)
	s.policy.config.Hooks = append(s.policy.config.Hooks, h)
	return 0
}

func (s *State) configureLocalLogs(L *glua.LState) int {
	s.configurable(L, "configure_local_logs")
	l, err := parseLocalLogs(L.Get(1))
	if err != nil {
		L.RaiseError("%v", err)
	}
	l.Where = location(L)
	s.policy.config.LocalLogs = append(s.policy.config.LocalLogs, l)
	return 0
}

func (s *State) defineSpool(L *glua.LState) int {
	s.configurable(L, "define_spool")
	f, err := newFields("define_spool", L.Get(1))
	if err != nil {
		L.RaiseError("%v", err)
	}
	sp := &config.Spool{Kind: "RocksDB", Where: location(L)}
	if !f.str("name", &sp.Name) && f.err == nil {
		f.fail("name", "missing field")
	}
	if !f.str("path", &sp.Path) && f.err == nil {
		f.fail("path", "missing field")
	}
	f.str("kind", &sp.Kind)
	sp.MinFreeSpace = f.threshold("min_free_space")
	sp.MinFreeInodes = f.threshold("min_free_inodes")
	f.get("flush")
	f.get("rocks_params")
	if err := f.done(); err != nil {
		L.RaiseError("%v", err)
	}
	s.policy.config.Spools = append(s.policy.config.Spools, sp)
	return 0
}

func (s *State) startHTTPListener(L *glua.LState) int {
	s.configurable(L, "start_http_listener")
	f, err := newFields("start_http_listener", L.Get(1))
	if err != nil {
		L.RaiseError("%v", err)
	}
	l := &config.Listener{Listen: "127.0.0.1:8000", Where: location(L)}
	f.str("listen", &l.Listen)
	l.TrustedHosts = f.strList("trusted_hosts")
	for _, k := range []string{"hostname", "tls_certificate", "tls_private_key", "use_tls", "request_body_limit"} {
		f.get(k)
	}
	if err := f.done(); err != nil {
		L.RaiseError("%v", err)
	}
	s.policy.config.Listeners = append(s.policy.config.Listeners, l)
	return 0
}

func (s *State) logAt(level slog.Level) glua.LGFunction {
	return func(L *glua.LState) int {
		parts := make([]string, L.GetTop())
		for i := range parts {
			parts[i] = L.ToStringMeta(L.Get(i + 1)).String()
		}
		s.policy.log.Log(L.Context(), level, strings.Join(parts, " "), "policy", location(L))
		return 0
	}
}

// The userdata types of the kumo module; their metatables are shared by every state (see luatype).
var (
	queueConfigType = luatype.New("hookd.QueueConfig", nameOnly("hookd.QueueConfig"))
	egressPathType  = luatype.New("hookd.EgressPathConfig", nameOnly("hookd.EgressPathConfig"))
	rejectType      = luatype.New("hookd.Reject", func(b *luatype.Builder) {
		b.MT.RawSetString("__tostring", b.Func(func(L *glua.LState) int {
			if r, ok := L.CheckUserData(1).Value.(*Reject); ok {
				L.Push(glua.LString(r.Error()))
				return 1
			}
			return 0
		}))
		b.MT.RawSetString("__index", b.Func(func(L *glua.LState) int {
			r, _ := L.CheckUserData(1).Value.(*Reject)
			switch L.CheckString(2) {
			case "code":
				L.Push(glua.LNumber(r.Code))
			case "message":
				L.Push(glua.LString(r.Message))
			default:
				L.Push(glua.LNil)
			}
			return 1
		}))
	})
)

// nameOnly builds a metatable whose __tostring is the type's name.
func nameOnly(name string) func(b *luatype.Builder) {
	return func(b *luatype.Builder) {
		b.MT.RawSetString("__tostring", b.Func(func(L *glua.LState) int {
			L.Push(glua.LString(name))
			return 1
		}))
	}
}

func makeQueueConfig(L *glua.LState) int {
	q, err := parseQueueConfig(L.Get(1))
	if err != nil {
		L.RaiseError("%v", err)
	}
	q.Where = location(L)
	L.Push(queueConfigType.Wrap(L, q))
	return 1
}

func makeEgressPath(L *glua.LState) int {
	e, err := parseEgressPath(L.Get(1))
	if err != nil {
		L.RaiseError("%v", err)
	}
	L.Push(egressPathType.Wrap(L, e))
	return 1
}

// Reject is the error kumo.reject(code, message) raises.
type Reject struct {
	Code    int
	Message string
}

func (r *Reject) Error() string { return fmt.Sprintf("%d %s", r.Code, r.Message) }

func reject(L *glua.LState) int {
	code := L.CheckInt(1)
	msg := L.OptString(2, "")
	if L.GetTop() >= 3 {
		L.CheckString(3) // kumo.disconnect's mode
	}
	L.Error(rejectType.Wrap(L, &Reject{Code: code, Message: msg}), 1)
	return 0
}

// rejectOf reports whether a Lua error value is a kumo.reject.
func rejectOf(v glua.LValue) (*Reject, bool) {
	if ud, ok := v.(*glua.LUserData); ok {
		if r, ok := ud.Value.(*Reject); ok {
			return r, true
		}
	}
	return nil, false
}

var _ = message.AnyRecord
