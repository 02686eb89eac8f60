package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/engine"
	"github.com/hookd/hookd/httpapi"
	"github.com/hookd/hookd/internal/gcpace"
	"github.com/hookd/hookd/internal/offheap"
	"github.com/hookd/hookd/message"
)

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	policy := fs.String("policy", "", "policy script (required)")
	spool := fs.String("spool", "", "spool directory (default: the policy's define_spool, else ./hookd-data)")
	listen := fs.String("http", "", "HTTP API address (default: the policy's start_http_listener, else 127.0.0.1:8000)")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	drain := fs.Duration("drain-timeout", 30*time.Second, "how long SIGINT/SIGTERM waits for in-flight deliveries")
	tokenFile := fs.String("admin-token-file", "", "file holding the bearer token the admin API requires (also: $HOOKD_ADMIN_TOKEN)")
	var af authFlags
	fs.StringVar(&af.trusted, "trusted-hosts", "", "comma-separated addresses and CIDR ranges that use the API without credentials, "+
		"or \"none\" (default: the policy's start_http_listener trusted_hosts, else loopback)")
	fs.StringVar(&af.tokenFile, "api-token-file", "", "file of bearer tokens (one per line) accepted from any client")
	fs.StringVar(&af.basicFile, "api-basic-file", "", "file of user:password lines accepted as HTTP basic auth from any client")
	headerTimeout := fs.Duration("header-timeout", 10*time.Second, "how long a client may take to send a request's headers")
	var limits engine.Limits
	fs.IntVar(&limits.MaxQueues, "max-queues", 0, fmt.Sprintf("most queues held at once (default %d)", engine.DefaultLimits.MaxQueues))
	fs.IntVar(&limits.MaxSessions, "max-sessions", 0, fmt.Sprintf("most delivery sessions connected at once (default %d)", engine.DefaultLimits.MaxSessions))
	fs.IntVar(&limits.MaxQueued, "max-queued", 0, fmt.Sprintf("most messages queued; new work is refused with 503 past it (default %d)", engine.DefaultLimits.MaxQueued))
	deadlines := deadlineFlag{}
	fs.Var(deadlines, "lua-deadline", "KIND=DURATION: stop calls into the policy of that kind after DURATION (repeatable; kinds: "+
		"config, should_enqueue_log_record, get_queue_config, get_egress_path_config, constructor, send, close, filter_event)")
	luaMemory := fs.Int("lua-memory", int(engine.DefaultLuaMemoryLimit>>20),
		"MiB one Lua state may hold; a call past it is stopped and its state rebuilt (0: no bound)")
	heapBudget := fs.Int("heap-budget", defaultHeapBudget>>20,
		"MiB the Go heap may grow by between collections, less what is queued off-heap (0: the runtime's pacing; unused when $GOGC is set)")
	var cf clusterFlags
	cf.register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *heapBudget < 0 {
		fmt.Fprintln(stderr, "hookd run: --heap-budget must not be negative")
		return 2
	}
	if *heapBudget > 0 && gcpace.Wanted(os.Getenv) {
		defer gcpace.Start(int64(*heapBudget)<<20, offheap.Bytes).Stop()
	}
	clusterCfg, err := cf.config(os.Hostname)
	if err != nil {
		fmt.Fprintln(stderr, "hookd run:", err)
		return 2
	}
	if *policy == "" {
		fmt.Fprintln(stderr, "hookd run: --policy is required")
		return 2
	}
	log, err := newLogger(stderr, *level)
	if err != nil {
		fmt.Fprintln(stderr, "hookd run:", err)
		return 2
	}
	// --spool wins over kumo.define_spool, which wins over ./hookd-data.
	eng, err := engine.New(engine.Config{Policy: *policy, Logger: log, SpoolDir: *spool, DefaultSpoolDir: "./hookd-data",
		LuaDeadlines: deadlines, LuaMemoryLimit: memoryLimit(*luaMemory), Limits: limits, Cluster: clusterCfg})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	cfg := eng.PolicyConfig()
	addr := firstOf(*listen, "127.0.0.1:8000")
	var listener *config.Listener
	if len(cfg.Listeners) > 0 {
		listener = cfg.Listeners[0]
		if *listen == "" {
			addr = listener.Listen
		}
	}
	auth, err := apiAuth(af, listener, eng.AuthBasic)
	if err != nil {
		fmt.Fprintln(stderr, "hookd run:", err)
		return 2
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(stderr, "hookd run:", err)
		return 1
	}
	if msg := bindWarning(ln.Addr(), auth, eng.ChecksBasicAuth()); msg != "" {
		log.Warn(msg)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := eng.Start(ctx); err != nil {
		if msg := err.Error(); strings.HasPrefix(msg, "hookd: ") {
			fmt.Fprintln(stderr, msg) // already says where it comes from
		} else {
			fmt.Fprintln(stderr, "hookd run:", msg)
		}
		return 1
	}
	token, err := adminToken(*tokenFile)
	if err != nil {
		fmt.Fprintln(stderr, "hookd run:", err)
		return 2
	}
	srv := newServer(httpapi.New(eng, httpapi.Options{Logger: log, AdminToken: token, Auth: auth}), *headerTimeout)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("hookd running", "policy", *policy, "spool", eng.SpoolDir(), "hooks", len(cfg.Hooks))
	fmt.Fprintf(stdout, "hookd: listening on http://%s\n", ln.Addr())

	var failed error
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case err := <-served:
			log.Error("HTTP server failed", "error", err)
			break wait
		case err := <-eng.Failed():
			fmt.Fprintln(stderr, err)
			failed = err
			break wait
		case <-hup:
			if err := eng.Reload(); err != nil {
				log.Error("reload failed; the running policy stays", "policy", *policy, "error", err)
			} else {
				log.Info("policy reloaded", "policy", *policy)
			}
		}
	}
	stop() // a second signal now ends the process at once
	log.Info("stopping: refusing new work and draining deliveries", "timeout", *drain)
	sctx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	err = errors.Join(srv.Shutdown(sctx), eng.Stop(sctx))
	if err != nil {
		log.Error("stopped with work unfinished", "error", err)
		return 1
	}
	if failed != nil {
		return 1
	}
	st := eng.Stats()
	log.Info("stopped", "delivered", st.Delivered, "queued", st.Queued)
	return 0
}

// newServer is the API's HTTP server, with every timeout set: a client that sends its headers or
// body slowly, or never reads the answer, cannot hold a connection for long.
func newServer(h http.Handler, headerTimeout time.Duration) *http.Server {
	return &http.Server{Handler: h,
		ReadHeaderTimeout: headerTimeout,
		ReadTimeout:       2 * time.Minute, // a 64 MiB body at about 0.5 MB/s
		WriteTimeout:      3 * time.Minute, // the read, the wait for room in the pipeline, the answer
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

func firstOf(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// adminToken reads the admin API's bearer token from a file, else from $HOOKD_ADMIN_TOKEN ("" = none).
func adminToken(file string) (string, error) {
	if file == "" {
		return os.Getenv("HOOKD_ADMIN_TOKEN"), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("--admin-token-file: %w", err)
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return "", fmt.Errorf("--admin-token-file: %s is empty", file)
	}
	return token, nil
}

// memoryLimit turns --lua-memory MiB into the engine's setting, where 0 means the default.
func memoryLimit(mib int) int64 {
	if mib <= 0 {
		return -1
	}
	return int64(mib) << 20
}

// deadlineFlag collects --lua-deadline KIND=DURATION flags.
type deadlineFlag map[string]time.Duration

func (d deadlineFlag) String() string { return fmt.Sprint(map[string]time.Duration(d)) }

func (d deadlineFlag) Set(v string) error {
	kind, dur, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("want KIND=DURATION, got %q", v)
	}
	if _, known := engine.DefaultLuaDeadlines()[kind]; !known {
		return fmt.Errorf("unknown kind %q", kind)
	}
	t, err := message.ParseDuration(dur)
	if err != nil {
		return err
	}
	d[kind] = t
	return nil
}

// defaultHeapBudget is what the Go heap may grow by between collections, less what the queues hold
// off-heap (internal/gcpace): with little queued, collections are several times rarer than at the
// runtime's default; a backlog that fills it leaves the default.
const defaultHeapBudget = 64 << 20
