// Command hookd runs hookd: a node with an HTTP API (run), a policy checker (check), a test webhook
// receiver (sink) and a self-contained demonstration (demo).
package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

const usage = `hookd turns mail-system log records into durable, Lua-programmed deliveries.

Usage:
  hookd run   --policy FILE [--spool DIR] [--http ADDR]   run a node until SIGINT/SIGTERM
  hookd check --policy FILE [--queue NAME]...             load a policy and report what it configures
  hookd sink  [--listen ADDR] [--fail-rate P]             a webhook receiver for testing
  hookd demo  [--records N]                               the whole loop in one process
  hookd bench [--records N] [--baseline] [--batch N]      a load generator: throughput, latency, CPU, memory

Run "hookd COMMAND -h" for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmds := map[string]func([]string, io.Writer, io.Writer) int{
		"run": cmdRun, "check": cmdCheck, "sink": cmdSink, "demo": cmdDemo, "bench": cmdBench,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "hookd: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	return cmd(args[1:], stdout, stderr)
}

// newLogger returns a text logger at the given level ("debug", "info", "warn", "error").
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("--log-level: %v", err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}
