package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hookd/hookd/internal/loopback"
)

// member is one `hookd run` process of the example's cluster, and what it needs to start again
// with the same identity: its ID, cluster address and spool directory.
type member struct {
	id      string
	cluster string // --cluster-listen
	spool   string // --spool
	logPath string // its stderr, appended to at each start

	cmd    *exec.Cmd
	api    string        // the API's base URL, from the "listening on" line
	exited chan struct{} // closed once the process is gone
}

// cluster is the three members, the hookd binary, the policy and the webhook they deliver to.
type cluster struct {
	bin, policy, webhook string
	members              []*member
	client               *http.Client
}

// newCluster names n members with their cluster addresses (free loopback ports) and spools under dir.
func newCluster(bin, policy, webhook, dir string, n int) (*cluster, error) {
	c := &cluster{bin: bin, policy: policy, webhook: webhook, client: &http.Client{Timeout: 30 * time.Second}}
	for i := range n {
		addr, err := loopback.FreeAddr() // not from the ephemeral range: see its doc
		if err != nil {
			return nil, err
		}
		id := fmt.Sprintf("m%d", i+1)
		c.members = append(c.members, &member{id: id, cluster: addr, spool: filepath.Join(dir, id+"-spool"),
			logPath: filepath.Join(dir, id+".log")})
	}
	return c, nil
}

// start starts m's process: `hookd run` with the policy, its spool, an API on a free loopback port
// and the cluster flags naming the other members as peers. It returns once the process has printed
// the address it listens on, which `hookd run` does after it has joined the cluster.
func (c *cluster) start(ctx context.Context, m *member) error {
	var peers []string
	for _, o := range c.members {
		if o != m {
			peers = append(peers, o.cluster)
		}
	}
	logFile, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	m.cmd = exec.Command(c.bin, "run", "--policy", c.policy, "--spool", m.spool, "--http", "127.0.0.1:0",
		"--log-level", "warn", "--drain-timeout", "10s",
		"--cluster-id", m.id, "--cluster-listen", m.cluster, "--cluster-peers", strings.Join(peers, ","),
		"--cluster-heartbeat", "200ms", "--cluster-dead-after", deadAfter.String(), "--cluster-join-timeout", "20s")
	m.cmd.Env = append(os.Environ(), "WEBHOOK_URL="+c.webhook, "HOOKD_MEMBER="+m.id)
	m.cmd.Stderr = logFile
	stdout, err := m.cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return err
	}
	if err := m.cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("starting %s: %w", m.id, err)
	}
	m.exited = make(chan struct{})
	listening := make(chan string, 1)
	go func() {
		defer close(m.exited)
		defer logFile.Close()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, url, ok := strings.Cut(sc.Text(), "listening on "); ok {
				select {
				case listening <- strings.TrimSpace(url):
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		_ = m.cmd.Wait()
	}()
	select {
	case m.api = <-listening:
		return nil
	case <-m.exited:
		return fmt.Errorf("%s exited before it listened (%s); its log is %s%s", m.id, m.cmd.ProcessState, m.logPath, m.logTail())
	case <-time.After(30 * time.Second):
		return fmt.Errorf("%s did not listen within 30s; its log is %s%s", m.id, m.logPath, m.logTail())
	case <-ctx.Done():
		return ctx.Err()
	}
}

// logTail is the last lines of m's log, indented under an error that names it ("" when empty).
func (m *member) logTail() string {
	b, err := os.ReadFile(m.logPath)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if err != nil || len(lines) == 0 || lines[0] == "" {
		return ""
	}
	lines = lines[max(0, len(lines)-8):]
	return ", ending:\n      " + strings.Join(lines, "\n      ")
}

// running reports whether m's process is alive.
func (m *member) running() bool {
	if m.exited == nil {
		return false
	}
	select {
	case <-m.exited:
		return false
	default:
		return true
	}
}

// signal sends sig to m's process and waits until it has exited; it returns the exit code (-1 for
// a process ended by a signal).
func (m *member) signal(sig syscall.Signal, wait time.Duration) (int, error) {
	if !m.running() {
		return 0, fmt.Errorf("%s is not running", m.id)
	}
	if err := m.cmd.Process.Signal(sig); err != nil {
		return 0, fmt.Errorf("%s: %v: %w", m.id, sig, err)
	}
	select {
	case <-m.exited:
		return m.cmd.ProcessState.ExitCode(), nil
	case <-time.After(wait):
		return 0, fmt.Errorf("%s still runs %v after %v", m.id, wait, sig)
	}
}

// killAll ends every process still running (the example's cleanup on an error).
func (c *cluster) killAll() {
	for _, m := range c.members {
		if m.running() {
			_, _ = m.signal(syscall.SIGKILL, 10*time.Second)
		}
	}
}

// post sends records to m's POST /api/log/v1 as one JSON array and returns once m has answered 200:
// every record is durable in m's spool. A 503 (m is busy or its queue is full) is tried again.
func (c *cluster) post(ctx context.Context, m *member, recs []record) error {
	body, err := json.Marshal(recs)
	if err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.api+"/api/log/v1", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.client.Do(req)
		if err != nil {
			return fmt.Errorf("posting to %s: %w", m.id, err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			return nil
		case resp.StatusCode == http.StatusServiceUnavailable && attempt < 20:
			time.Sleep(250 * time.Millisecond)
		default:
			return fmt.Errorf("posting to %s: %s: %s", m.id, resp.Status, bytes.TrimSpace(answer))
		}
	}
}

// queueState is one queue as GET /api/admin/queues/v1 shows it: a member answers with the queues of
// every live member, each with its owner.
type queueState struct {
	Name      string `json:"name"`
	Owner     string `json:"owner"`
	Scheduled int    `json:"scheduled"`
	Ready     int    `json:"ready"`
	InFlight  int    `json:"in_flight"`
}

// held is the messages waiting in the queue.
func (q queueState) held() int { return q.Scheduled + q.Ready + q.InFlight }

// queues lists the queues m owns, with their messages, as m reports them.
func (c *cluster) queues(ctx context.Context, m *member) ([]queueState, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.api+"/api/admin/queues/v1", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: GET /api/admin/queues/v1: %s", m.id, resp.Status)
	}
	var answer struct {
		Queues []queueState `json:"queues"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return nil, fmt.Errorf("%s: GET /api/admin/queues/v1: %w", m.id, err)
	}
	var own []queueState
	for _, q := range answer.Queues {
		if q.Owner == m.id {
			own = append(own, q)
		}
	}
	return own, nil
}

// heldBy sums the messages in m's queues, and names the queues that hold some.
func (c *cluster) heldBy(ctx context.Context, m *member) (int, []string, error) {
	qs, err := c.queues(ctx, m)
	if err != nil {
		return 0, nil, err
	}
	n := 0
	var names []string
	for _, q := range qs {
		if q.held() > 0 {
			n += q.held()
			names = append(names, q.Name)
		}
	}
	return n, names, nil
}

// waitFor polls cond every 50ms until it holds, or fails after timeout saying what it waited for.
func waitFor(ctx context.Context, timeout time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not happen within %v", what, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// errNoModule is returned when the example runs outside the hookd module and is given no binary.
var errNoModule = errors.New("not inside the hookd module: run it from the repository (go run ./examples/cluster) or pass -hookd")
