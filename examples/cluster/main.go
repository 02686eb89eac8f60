// Command cluster runs a hookd cluster of three `hookd run` processes on loopback and shows, step by
// step, what the cluster promises: records posted to any member are delivered once, each queue by
// its owner; a member killed with SIGKILL loses nothing, the survivors take its queues over and its
// spool waits for it; restarted on its spool, it rejoins and what it held is delivered; SIGTERM
// stops each member after it has handed over what it holds.
//
// It builds hookd from this module (or uses -hookd), starts its own webhook receiver on loopback,
// and runs the members with policy.lua beside this file: a queue per tenant, the delivering member
// named in an X-Hookd-Member header. Run it from the repository:
//
//	go run ./examples/cluster
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// deadAfter is how long the members wait for a silent member before its queues move: hookd's
// default. Not less than about 3 s: right after a member dies, the survivors' sends to it stall their
// transport for about 3 s (hollywood's remote dials the dead address three times, 0, 1 and 2 s
// apart), heartbeats between the survivors included, and with a shorter deadAfter the survivors
// declare each other dead for a moment and deliver each other's queues twice.
const deadAfter = 5 * time.Second

// module is the import path of the module this example belongs to.
const module = "github.com/hookd/hookd"

// options are the example's settings.
type options struct {
	hookd   string // a hookd binary; "" builds one from this module
	policy  string // the members' policy; "" is policy.lua of this example in this module
	records int    // records posted at each step
	keep    bool   // keep the temporary directory (spools, member logs)
	out     io.Writer
}

func main() {
	var o options
	flag.StringVar(&o.hookd, "hookd", "", "the hookd binary to run (default: go build ./cmd/hookd of this module into a temporary directory)")
	flag.StringVar(&o.policy, "policy", "", "the members' policy (default: examples/cluster/policy.lua of this module)")
	flag.IntVar(&o.records, "records", 240, "records posted at each step")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory with the members' spools and logs")
	flag.Parse()
	o.out = os.Stdout
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "examples/cluster:", err)
		os.Exit(1)
	}
}

// result is what the run counted, for its test.
type result struct {
	posted, delivered  int
	duplicated, extra  int            // records that arrived more than once, and the extra arrivals
	posts              map[string]int // accepted webhook POSTs by member
	killed             string         // the member killed with SIGKILL
	killedQueues       []string       // the tenants whose queue it owned
	spooled            int            // messages its queues held when it was killed
	takenOver          map[string]int // records of its queues posted after its death, by who delivered them
	spooledDeliveredBy map[string]int // the messages of its spool, by who delivered them after its restart
	exits              map[string]int // exit codes after the final SIGTERM
}

// run runs the example and prints what happens to o.out.
func run(ctx context.Context, o options) (*result, error) {
	out := o.out
	if o.records < 3 {
		return nil, fmt.Errorf("-records must be at least 3 (got %d)", o.records)
	}
	dir, err := os.MkdirTemp("", "hookd-cluster-example-")
	if err != nil {
		return nil, err
	}
	if o.keep {
		fmt.Fprintf(out, "keeping %s (spools and member logs)\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	if err := locate(ctx, &o, dir, out); err != nil {
		return nil, err
	}

	wh := newWebhook()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: wh, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/events"

	c, err := newCluster(o.hookd, o.policy, url, dir, 3)
	if err != nil {
		return nil, err
	}
	defer c.killAll()
	res := &result{}
	s := &steps{ctx: ctx, out: out, c: c, wh: wh, n: o.records, res: res}
	for _, step := range []func() error{s.start, s.deliver, s.webhookDown, s.kill, s.webhookBack, s.restart, s.terminate} {
		if err := step(); err != nil {
			fmt.Fprintf(out, "\nthe example failed: %v\nmember logs: %s\n", err, filepath.Join(dir, "m*.log"))
			return res, err
		}
	}
	s.final()
	return res, nil
}

// locate finds the module (when a binary or the policy is not given), builds hookd from it, and
// fills in o's paths.
func locate(ctx context.Context, o *options, dir string, out io.Writer) error {
	root := ""
	if o.hookd == "" || o.policy == "" {
		cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Path}} {{.Dir}}")
		b, err := cmd.Output()
		path, where, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
		if err != nil || path != module || where == "" {
			return errNoModule
		}
		root = where
	}
	if o.policy == "" {
		o.policy = filepath.Join(root, "examples", "cluster", "policy.lua")
	}
	if abs, err := filepath.Abs(o.policy); err == nil {
		o.policy = abs
	}
	if o.hookd != "" {
		return nil
	}
	o.hookd = filepath.Join(dir, "hookd")
	fmt.Fprintf(out, "building hookd: go build -o %s ./cmd/hookd\n", o.hookd)
	build := exec.CommandContext(ctx, "go", "build", "-o", o.hookd, "./cmd/hookd")
	build.Dir = root
	if b, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building hookd: %v\n%s", err, b)
	}
	return nil
}
