package luaserde

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// arrayLen returns n when the keys of tbl are exactly 1..n (n >= 1), else
// 0. gopher-lua keeps every integer key in 1..MaxArrayIndex in the table's
// array part, so it is enough to check that part for holes and to ask Next
// whether any key follows it. Unlike ForEach, this allocates nothing.
func arrayLen(tbl *lua.LTable) int {
	n := tbl.Len()
	if n == 0 {
		return 0
	}
	for i := 1; i <= n; i++ {
		if tbl.RawGetInt(i) == lua.LNil {
			return 0
		}
	}
	if k, _ := tbl.Next(lua.LNumber(n)); k != lua.LNil {
		return 0
	}
	return n
}

// keyString converts a table key to an object member name.
func keyString(k lua.LValue) (string, error) {
	switch key := k.(type) {
	case lua.LString:
		return string(key), nil
	case lua.LNumber:
		f := float64(key)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return "", &encodeError{reason: fmt.Sprintf("table key %v cannot be serialised", f)}
		}
		b, err := appendNumber(nil, f)
		return string(b), err
	default:
		return "", &encodeError{reason: "table key of type " + k.Type().String() + " cannot be serialised"}
	}
}

// checkKeyCollisions reports a number key and a string key of tbl that
// stringify to the same member name.
func checkKeyCollisions(tbl *lua.LTable) error {
	_, err := sortedEntries(tbl)
	return err
}

func duplicateKeyError(key string) error {
	return &encodeError{reason: fmt.Sprintf("table has both the number key %s and the string key %q", key, key)}
}

type entry struct {
	key   string
	value lua.LValue
}

// sortedEntries returns the members of an object-shaped table ordered by
// their stringified key; colliding keys are an error.
func sortedEntries(tbl *lua.LTable) ([]entry, error) {
	var entries []entry
	var err error
	tbl.ForEach(func(k, v lua.LValue) {
		if err != nil {
			return
		}
		var key string
		key, err = keyString(k)
		entries = append(entries, entry{key: key, value: v})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(entries, func(a, b entry) int { return cmp.Compare(a.key, b.key) })
	for i := 1; i < len(entries); i++ {
		if entries[i].key == entries[i-1].key {
			return nil, duplicateKeyError(entries[i].key)
		}
	}
	return entries, nil
}

// encodeError reports a value that cannot be serialised, with the path from
// the top-level value to it (segments collected innermost first).
type encodeError struct {
	reason string
	path   []string
}

func (e *encodeError) Error() string {
	if len(e.path) == 0 {
		return e.reason
	}
	var b strings.Builder
	b.WriteString("at ")
	for i := len(e.path) - 1; i >= 0; i-- {
		b.WriteString(e.path[i])
	}
	b.WriteString(": ")
	b.WriteString(e.reason)
	return b.String()
}

// prependPath records that err happened inside the member seg.
func prependPath(err error, seg string) error {
	if ee, ok := err.(*encodeError); ok {
		ee.path = append(ee.path, seg)
	}
	return err
}

// pathKey renders an object member for an error path: .name for plain
// identifiers, ["other key"] otherwise.
func pathKey(key string) string {
	if isIdentifier(key) {
		return "." + key
	}
	return "[" + strconv.Quote(key) + "]"
}

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alpha := c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z')
		if !alpha && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}
