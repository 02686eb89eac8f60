package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCheckReportsAGoodPolicy(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	code, stdout, stderr := runHookd(t, ctx, ".", "check", "--policy", webhookPolicy)
	if code != 0 {
		t.Fatalf("hookd check exited %d; want 0\nstderr: %s", code, stderr)
	}
	for _, want := range []string{
		"log hooks: 1\n",
		"webhook (testdata/webhook.lua:10): ",
		"meta=[tenant campaign] headers=[Subject X-*]",
		"probe: hook webhook keeps a sample Delivery record in queue webhook: protocol custom_lua via make.webhook, retry 1s",
		"testdata/webhook.lua: OK\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the report does not say %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "Reception") {
		t.Errorf("the report lists Reception among the hook's records, but per_record disables it:\n%s", stdout)
	}
	if stderr != "" {
		t.Errorf("hookd check wrote to stderr: %q", stderr)
	}
}

func TestCheckRejectsABadPolicyWithItsLocation(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		line   int
		reason string // the reason must contain it
	}{
		{"a syntax error is reported where the parser stops", "syntax_error.lua", 5, "syntax error near 'end'"},
		{"an unknown configure_log_hook key is reported at the call", "unknown_key.lua", 4,
			"configure_log_hook: unknown field `retries`"},
		{"a duplicate hook name is reported at the second registration", "duplicate_hook.lua", 6,
			"A logging hook with name `webhook` has already been registered"},
		{"a get_queue_config that returns a plain table is reported at the handler", "plain_queue_config.lua", 12,
			"get_queue_config: the handler returned a table"},
		{"a custom_lua constructor without a handler is reported where it is named", "no_constructor.lua", 13,
			`"make.webhook" has no handler`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			file := filepath.Join("testdata", "check", tt.policy)
			code, stdout, stderr := runHookd(t, ctx, ".", "check", "--policy", file)
			if code == 0 {
				t.Fatalf("hookd check exited 0 on a bad policy; stdout:\n%s", stdout)
			}
			m := regexp.MustCompile(`^` + regexp.QuoteMeta(file) + `:(\d+): (.+)\n$`).FindStringSubmatch(stderr)
			if m == nil {
				t.Fatalf("stderr is not one line \"%s:LINE: reason\": %q", file, stderr)
			}
			if line, _ := strconv.Atoi(m[1]); line != tt.line {
				t.Errorf("the error is on line %d; want line %d: %q", line, tt.line, stderr)
			}
			if !strings.Contains(m[2], tt.reason) {
				t.Errorf("the reason %q does not say %q", m[2], tt.reason)
			}
			if stdout != "" {
				t.Errorf("hookd check wrote a report for a bad policy: %q", stdout)
			}
		})
	}
}

func TestCheckNeedsAPolicy(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"check without --policy is a usage error", []string{"check"}, 2, "--policy is required"},
		{"check of a missing file names the file", []string{"check", "--policy", "testdata/none.lua"}, 1,
			"testdata/none.lua"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runHookd(t, ctx, ".", tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tt.code, tt.want)
			}
		})
	}
}

func TestDemoRunsTheWholeLoop(t *testing.T) {
	const records = 300
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	code, stdout, stderr := runHookd(t, ctx, t.TempDir(), "demo", "--records", strconv.Itoa(records),
		"--fail-rate", "0", "--timeout", "30s")
	if code != 0 {
		t.Fatalf("hookd demo exited %d; want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	_, summary, ok := strings.Cut(stdout, "\nsummary\n")
	if !ok {
		t.Fatalf("no summary table in:\n%s", stdout)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(summary), "\n") {
		fields := regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(line), -1)
		if len(fields) != 2 {
			t.Fatalf("summary row %q is not \"name  value\"", line)
		}
		rows[fields[0]] = fields[1]
	}
	kept, err := strconv.Atoi(rows["kept by the policy"])
	if err != nil || kept == 0 || kept > records {
		t.Fatalf("kept by the policy = %q; want a number in 1..%d", rows["kept by the policy"], records)
	}
	for name, want := range map[string]string{
		"records in":                           strconv.Itoa(records),
		"turned away by per_record":            strconv.Itoa(records - kept),
		"delivered":                            strconv.Itoa(kept),
		"distinct records at the webhook":      fmt.Sprintf("%d of %d", kept, kept),
		"duplicates at the webhook":            "0",
		"webhook requests failed on purpose":   "0",
		"dropped by should_enqueue_log_record": "0",
	} {
		if rows[name] != want {
			t.Errorf("summary row %q = %q; want %q\n%s", name, rows[name], want, summary)
		}
	}
	if !strings.HasSuffix(rows["rate"], " records/s") {
		t.Errorf("summary row rate = %q; want \"N records/s\"", rows["rate"])
	}
}
