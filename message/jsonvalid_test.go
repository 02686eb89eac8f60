package message

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzValidJSON: validJSON (used to check raw meta and header values before they are written) says
// what json.Valid says, for any bytes.
func FuzzValidJSON(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.json"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{``, ` `, `1`, `-0.5e+3`, `"a\u00e9\ud83d\ude00"`, `"\x01"`, "\"\xff\"", `[1,]`, `{"a":1,}`,
		`{"a" 1}`, ` [ ] `, `nul`, `true false`, `{"a":{"b":[null]}}`, `01`, `1.`, `"\q"`} {
		f.Add([]byte(s))
	}
	for _, depth := range []int{9999, 10000, 10001} { // encoding/json's nesting limit
		f.Add([]byte(strings.Repeat("[", depth) + strings.Repeat("]", depth)))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid says %v", b, got, want)
		}
	})
}
