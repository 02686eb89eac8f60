package lua

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestLogFunctions(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p, err := LoadSource("policy.lua", []byte(`
kumo.log_debug('d', 1)
kumo.log_info('hello', 'world', 42, true)
kumo.log_warn('careful')
kumo.log_error('bad', nil)
kumo.start_esmtp_listener { listen = '0:25' }
kumo.start_esmtp_listener { listen = '0:587' }
`), Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer p.first.Close()
	out := buf.String()
	for _, want := range []string{
		`level=DEBUG msg="d 1" policy=policy.lua:2`,
		`level=INFO msg="hello world 42 true" policy=policy.lua:3`,
		`level=WARN msg=careful policy=policy.lua:4`,
		`level=ERROR msg="bad nil" policy=policy.lua:5`,
		`level=WARN msg="ignored: hookd has no SMTP" function=kumo.start_esmtp_listener at=policy.lua:6`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q\n%s", want, out)
		}
	}
	if strings.Count(out, "ignored: hookd has no SMTP") != 1 {
		t.Errorf("the SMTP warning should appear once per state:\n%s", out)
	}
}

func TestKumoReject(t *testing.T) {
	s := newState(t, load(t, ``))
	cases := []struct{ chunk, want string }{
		{`local ok, e = pcall(kumo.reject, 550, 'no'); out = tostring(e)`, "550 no"},
		{`local ok, e = pcall(kumo.reject, 421, 'bye'); out = e.code .. '|' .. e.message`, "421|bye"},
		{`local ok, e = pcall(kumo.reject, 'x'); out = tostring(ok)`, "false"},
	}
	for _, tc := range cases {
		if err := s.L.DoString(tc.chunk); err != nil {
			t.Fatal(err)
		}
		if got := s.L.GetGlobal("out").String(); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.chunk, got, tc.want)
		}
	}
}
