package inject

import (
	"strings"
	"testing"
)

func TestFoldValue(t *testing.T) {
	words := strings.TrimSpace(strings.Repeat("word ", 40))
	tests := []struct {
		name  string
		field string
		value string
		want  string // "" means: check the properties only
	}{
		{name: "a short value is unchanged", field: "Subject", value: "hello world", want: "hello world"},
		{name: "a value of exactly 78 characters with its name is unchanged", field: "X", value: strings.Repeat("a ", 36) + "bcd",
			want: strings.Repeat("a ", 36) + "bcd"},
		{name: "a long value folds at the last space within 78 characters", field: "Subject", value: words},
		{name: "a value without spaces stays on one line", field: "X-Token", value: strings.Repeat("x", 120),
			want: strings.Repeat("x", 120)},
		{name: "a long first word folds at the first space after it", field: "X", value: strings.Repeat("y", 90) + " tail",
			want: strings.Repeat("y", 90) + "\r\n tail"},
		{name: "trailing spaces never make a blank line", field: "Subject", value: strings.Repeat("z", 80) + "      ",
			want: strings.Repeat("z", 80) + "      "},
		{name: "runs of spaces never make a blank line", field: "Subject", value: strings.Repeat("a", 70) + strings.Repeat(" ", 30) + "b"},
		{name: "leading spaces never make a blank line", field: "Subject", value: strings.Repeat(" ", 90) + "b c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := foldValue(tt.field, tt.value)
			if tt.want != "" && got != tt.want {
				t.Errorf("foldValue = %q; want %q", got, tt.want)
			}
			if unfolded := strings.ReplaceAll(got, "\r\n", ""); unfolded != tt.value {
				t.Errorf("unfolding gives %q; want the value %q back", unfolded, tt.value)
			}
			lines := strings.Split(tt.field+": "+got, "\r\n")
			for i, line := range lines {
				if strings.TrimSpace(line) == "" {
					t.Errorf("line %d of %q holds only whitespace", i, got)
				}
				if i > 0 && line[0] != ' ' {
					t.Errorf("continuation line %d %q does not start with a space", i, line)
				}
				text := line[1:] // what follows the folding space
				if i == 0 {
					text = line[len(tt.field)+2:]
				}
				if len(line) > maxLineLen && strings.Contains(strings.TrimSpace(text), " ") {
					t.Errorf("line %d is %d long although it could fold: %q", i, len(line), line)
				}
			}
		})
	}
}
