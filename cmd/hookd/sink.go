package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hookd/hookd/internal/sink"
)

func cmdSink(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sink", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8081", "address to listen on")
	failRate := fs.Float64("fail-rate", 0, "fraction of requests answered with --fail-status")
	failStatus := fs.Int("fail-status", 503, "status of failed requests")
	delay := fs.Duration("delay", 0, "latency added to every request")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *failRate < 0 || *failRate > 1 {
		fmt.Fprintln(stderr, "hookd sink: --fail-rate must be between 0 and 1")
		return 2
	}
	s := sink.New(sink.Config{FailRate: *failRate, FailStatus: *failStatus, Delay: *delay})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(stderr, "hookd sink:", err)
		return 1
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { _ = srv.Serve(ln) }()
	fmt.Fprintf(stdout, "hookd sink: listening on http://%s (stats at /stats)\n", ln.Addr())
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	s.Report(stdout)
	return 0
}
