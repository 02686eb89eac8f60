package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestCommandLine(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		code       int
		wantStdout string
		wantStderr string
	}{
		{"no command prints the usage and exits 2", nil, 2, "", "Usage:"},
		{"help prints the usage and exits 0", []string{"help"}, 0, "Usage:", ""},
		{"an unknown command is named and exits 2", []string{"serve"}, 2, "", `unknown command "serve"`},
		{"run without --policy exits 2", []string{"run", "--http", "127.0.0.1:0"}, 2, "", "--policy is required"},
		{"run with an unknown log level exits 2", []string{"run", "--policy", webhookPolicy, "--log-level", "loud"},
			2, "", "--log-level"},
		{"run with a bad policy exits 1 with its location", []string{"run", "--policy", "testdata/check/unknown_key.lua"},
			1, "", "testdata/check/unknown_key.lua:4: configure_log_hook: unknown field `retries`"},
		{"run with a negative heap budget exits 2", []string{"run", "--policy", webhookPolicy, "--heap-budget", "-1"},
			2, "", "--heap-budget must not be negative"},
		{"sink with a fail rate over 1 exits 2", []string{"sink", "--fail-rate", "1.5"}, 2, "", "--fail-rate"},
		{"demo with an unknown flag exits 2", []string{"demo", "--fast"}, 2, "", "-fast"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit code %d; want %d (stderr %q)", code, tt.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout %q does not contain %q", stdout.String(), tt.wantStdout)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tt.wantStderr)
			}
			if tt.wantStdout == "" && stdout.Len() > 0 {
				t.Errorf("stdout %q; want nothing", stdout.String())
			}
		})
	}
}
