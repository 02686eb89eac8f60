package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// hookdBin is the hookd binary built from this package once for all its tests.
var hookdBin string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hookd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	goTool, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintln(os.Stderr, "the go command is needed to build hookd:", err)
		return 1
	}
	hookdBin = filepath.Join(dir, "hookd")
	if out, err := exec.Command(goTool, "build", "-o", hookdBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building hookd: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// runHookd runs the binary to completion in dir with args and returns its exit code and output.
func runHookd(t *testing.T, ctx context.Context, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, hookdBin, args...)
	cmd.Dir = dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running hookd %s: %v", strings.Join(args, " "), err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

// syncBuffer is a bytes.Buffer that a child's output goroutine and the test may share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// child is a running `hookd run`.
type child struct {
	cmd    *exec.Cmd
	url    string // the API's base URL, from the "listening on" line
	stdout syncBuffer
	stderr syncBuffer
	exited chan struct{} // closed once the process has exited and its output is read
	addr   chan string   // the "listening on" line's URL
}

// startNode starts `hookd run --policy policy --http 127.0.0.1:0` with env added to the test's
// environment, and waits for the line that tells its address. The process is killed at the end of
// the test if it is still running.
func startNode(t *testing.T, policy string, env ...string) *child {
	t.Helper()
	return startNodeOn(t, filepath.Join(t.TempDir(), "spool"), policy, env...)
}

// startNodeOn is startNode with the spool in spoolDir, so that a later node can take it over.
func startNodeOn(t *testing.T, spoolDir, policy string, env ...string) *child {
	t.Helper()
	return startNodeWith(t, spoolDir, policy, nil, env...)
}

// startNodeWith is startNodeOn with extra flags for `hookd run`.
func startNodeWith(t *testing.T, spoolDir, policy string, flags []string, env ...string) *child {
	t.Helper()
	c := spawnNode(t, spoolDir, policy, flags, env...)
	c.waitListening(t)
	return c
}

// spawnNode starts `hookd run` as startNodeWith does, without waiting for it to listen.
func spawnNode(t *testing.T, spoolDir, policy string, flags []string, env ...string) *child {
	t.Helper()
	abs, err := filepath.Abs(policy)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := &child{exited: make(chan struct{}), addr: make(chan string, 1)}
	args := append([]string{"run", "--policy", abs, "--http", "127.0.0.1:0",
		"--spool", spoolDir, "--log-level", "warn", "--drain-timeout", "5s"}, flags...)
	c.cmd = exec.Command(hookdBin, args...)
	c.cmd.Dir = dir
	c.cmd.Env = append(os.Environ(), env...)
	c.cmd.Stderr = &c.stderr
	pipe, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting hookd run: %v", err)
	}
	go func() {
		defer close(c.exited)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(&c.stdout, line)
			if _, url, ok := strings.Cut(line, "listening on "); ok {
				select {
				case c.addr <- strings.TrimSpace(url):
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pipe)
		_ = c.cmd.Wait()
	}()
	t.Cleanup(func() {
		select {
		case <-c.exited:
		default:
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
		if t.Failed() {
			t.Logf("hookd run stdout:\n%s\nstderr:\n%s", c.stdout.String(), c.stderr.String())
		}
	})
	return c
}

// waitListening waits for the line that tells the node's address.
func (c *child) waitListening(t *testing.T) {
	t.Helper()
	select {
	case c.url = <-c.addr:
	case <-c.exited:
		t.Fatalf("hookd run exited before listening: %s\n%s", c.cmd.ProcessState, c.stderr.String())
	case <-time.After(15 * time.Second):
		t.Fatalf("hookd run printed no \"listening on\" line; stdout %q", c.stdout.String())
	}
	for _, any := range []string{"http://[::]:", "http://0.0.0.0:"} { // on every address: talk to it on loopback
		if port, ok := strings.CutPrefix(c.url, any); ok {
			c.url = "http://127.0.0.1:" + port
		}
	}
	if !strings.HasPrefix(c.url, "http://127.0.0.1:") {
		t.Fatalf("hookd run listens on %q; want a loopback address", c.url)
	}
}

// terminate sends SIGTERM and returns the exit code once the process is gone.
func (c *child) terminate(t *testing.T) int {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-c.exited:
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Signal(syscall.SIGQUIT) // Go prints every goroutine's stack and exits
		select {
		case <-c.exited:
		case <-time.After(5 * time.Second):
		}
		t.Fatalf("hookd run did not exit within 15s of SIGTERM; stderr (with its goroutines):\n%s", c.stderr.String())
	}
	return c.cmd.ProcessState.ExitCode()
}

// kill ends the process with SIGKILL, as a crash would, and waits until it is gone.
func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("SIGKILL: %v", err)
	}
	select {
	case <-c.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("hookd run survived SIGKILL for 15s")
	}
}
