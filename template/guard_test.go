package template

import (
	"strings"
	"testing"
	"time"
)

func TestLexerTrap(t *testing.T) {
	traps := []struct {
		src  string
		line int
	}{
		{"{{ 0.\uFFFD }}", 1},
		{"{% if 1.€ %}x{% endif %}", 1},
		{"a\r\nb\n{{ 12.😀 }}", 3},
		{"{{ 1.5.€ }}", 1},
		{"{{ (x, 7.é) }}", 1},
		{"{{ 'it''s' ~ 0.€ }}", 1},
	}
	for _, tc := range traps {
		line, found := lexerTrap(tc.src)
		if !found || line != tc.line {
			t.Errorf("lexerTrap(%q) = %d, %v; want line %d", tc.src, line, found, tc.line)
		}
		done := make(chan error, 1)
		go func() { _, err := Compile(tc.src, "Any"); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "a number followed by '.'") {
				t.Errorf("Compile(%q): %v", tc.src, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Compile(%q) did not return", tc.src)
		}
	}
	for _, src := range []string{
		"{{ x1.€ }}", `{{ "1.€" }}`, `{{ '0.é' }}`, "data 1.€ {{ x }}", "{{ 1.٣ }}",
		"{{ 1.5 }} {{ 2.x }}", "{# 1.€ #}", "{{ a[0].b }}", "{{ 1.5e3 }}", "{{ 0.",
	} {
		if line, found := lexerTrap(src); found {
			t.Errorf("lexerTrap(%q) found a trap on line %d", src, line)
		}
	}
}
