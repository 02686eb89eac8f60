// Command embedded is a small sign-up service with hookd inside it.
//
// POST /signup {"email": ..., "name": ...} sends a welcome mail through the engine's queues
// (Engine.Inject); POST /events takes one JSON log record from elsewhere, such as a mail provider's
// bounce, and feeds it to the engine's log hooks (Engine.Log). The policy, policy.lua beside this
// file, reports what happens to a webhook. SIGINT or SIGTERM stops the service after the engine has
// drained its in-flight deliveries.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hookd/hookd/engine"
	"github.com/hookd/hookd/message"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address the service listens on")
	policy := flag.String("policy", "examples/embedded/policy.lua", "hookd policy script")
	webhook := flag.String("webhook", envOr("WEBHOOK_URL", "http://127.0.0.1:8081/events"),
		"where the policy POSTs records (default $WEBHOOK_URL)")
	sender := flag.String("from", "welcome@example.com", "sender of the welcome mails")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(*listen, *policy, *webhook, *sender, log); err != nil {
		log.Error("embedded service failed", "error", err)
		os.Exit(1)
	}
}

func run(listen, policy, webhook, sender string, log *slog.Logger) error {
	eng, err := newEngine(policy, webhook, log)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := eng.Start(ctx); err != nil {
		return err
	}
	srv := &http.Server{
		Addr:              listen,
		Handler:           (&service{eng: eng, log: log, sender: sender}).routes(),
		ReadHeaderTimeout: 5 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe() }()
	log.Info("sign-up service running", "listen", listen, "policy", policy, "webhook", webhook)

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("stopping: draining deliveries")
	case serveErr = <-served:
	}
	stop() // a second signal ends the process at once
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = errors.Join(serveErr, srv.Shutdown(sctx), eng.Stop(sctx))
	st := eng.Stats()
	log.Info("stopped", "delivered", st.Delivered, "still queued", st.Queued)
	return err
}

// newEngine loads the policy and hands it the webhook URL through kumo.setting, a Go function
// added to the kumo module of every Lua state.
func newEngine(policy, webhook string, log *slog.Logger) (*engine.Engine, error) {
	settings := map[string]string{"webhook_url": webhook}
	setting := func(args ...any) (any, error) {
		name, _ := args[0].(string)
		if len(args) != 1 || name == "" {
			return nil, errors.New("want one setting name")
		}
		v, ok := settings[name]
		if !ok {
			return nil, fmt.Errorf("no setting named %q", name)
		}
		return v, nil
	}
	return engine.New(engine.Config{
		Policy:    policy,
		Logger:    log,
		Functions: map[string]engine.Func{"setting": setting},
	})
}

// service is the HTTP side of the sign-up service.
type service struct {
	eng    *engine.Engine
	log    *slog.Logger
	sender string // envelope sender and From of the welcome mails
}

func (s *service) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /signup", s.signup)
	mux.HandleFunc("POST /events", s.events)
	return mux
}

// signup sends the new user a welcome mail. It answers 202 with the message's spool id once the
// mail is queued.
func (s *service) signup(w http.ResponseWriter, r *http.Request) {
	var user struct {
		Email string `json:"email"`
		Name  string `json:"name"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&user); err != nil {
		http.Error(w, "signup: "+err.Error(), http.StatusBadRequest)
		return
	}
	greeting := "Hello,"
	if user.Name != "" {
		greeting = fmt.Sprintf("Hello %s,", user.Name)
	}
	res, err := s.eng.Inject(r.Context(), &engine.InjectRequest{
		EnvelopeSender: s.sender,
		Recipients:     []engine.InjectRecipient{{Email: user.Email, Name: user.Name}},
		Content: engine.InjectContent{Builder: &engine.InjectBuilder{
			From:     &engine.Mailbox{Email: s.sender, Name: "Example"},
			Subject:  "Welcome to Example",
			TextBody: greeting + "\n\nthanks for signing up.\n",
		}},
		// The queue is campaign:tenant@domain, e.g. welcome:signup@example.net.
		Meta: map[string]json.RawMessage{"tenant": json.RawMessage(`"signup"`), "campaign": json.RawMessage(`"welcome"`)},
	}, r.RemoteAddr)
	switch {
	case err != nil:
		s.log.Error("injecting a welcome mail", "error", err)
		http.Error(w, "signup: the welcome mail could not be queued", http.StatusServiceUnavailable)
	case res.FailCount > 0:
		http.Error(w, "signup: "+res.Errors[0], http.StatusBadRequest)
	default:
		s.log.Info("welcome mail queued", "to", user.Email, "id", res.IDs[0])
		writeJSON(w, http.StatusAccepted, map[string]string{"id": res.IDs[0]})
	}
}

// events feeds one log record in KumoMTA's JSON to the policy's log hooks. It answers 202 once the
// hooks have decided about it and what they kept is queued.
func (s *service) events(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, "events: "+err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	rec, err := message.DecodeRecord(body)
	if err != nil {
		http.Error(w, "events: "+err.Error(), http.StatusBadRequest)
		return
	}
	if err := s.eng.Log(r.Context(), rec); err != nil {
		s.log.Error("logging a record", "type", rec.Type, "error", err)
		http.Error(w, "events: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]int{"accepted": 1})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
