package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/hookd/hookd/engine"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	policy := fs.String("policy", "", "policy script (required)")
	var queues multiFlag
	fs.Var(&queues, "queue", "also resolve get_queue_config for this queue name (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *policy == "" {
		fmt.Fprintln(stderr, "hookd check: --policy is required")
		return 2
	}
	log, _ := newLogger(stderr, "warn")
	eng, err := engine.New(engine.Config{Policy: *policy, Logger: log})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	rep, err := eng.Check(queues...)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprint(stdout, rep.String())
	fmt.Fprintf(stdout, "%s: OK\n", *policy)
	return 0
}
