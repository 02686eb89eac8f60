package engine

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/hookd/hookd/message"
)

// textLeaves calls set for every place in a LogRecord that holds text — a string, an element of a
// []string, what a *string points to, a raw JSON member, a map key or value — each time on a fresh
// record with that one place made invalid. It walks the struct by reflection, so a text field
// added to LogRecord later is tried too.
func textLeaves(t *testing.T, each func(path string, r *message.LogRecord)) {
	t.Helper()
	typ := reflect.TypeFor[message.LogRecord]()
	var walk func(path []int, name string, ft reflect.Type)
	walk = func(path []int, name string, ft reflect.Type) {
		field := func(r *message.LogRecord) reflect.Value {
			v := reflect.ValueOf(r).Elem()
			for i, idx := range path {
				if i > 0 && v.Kind() == reflect.Pointer {
					if v.IsNil() {
						v.Set(reflect.New(v.Type().Elem()))
					}
					v = v.Elem()
				}
				v = v.Field(idx)
			}
			return v
		}
		bad := "a\xffb"
		switch {
		case ft == reflect.TypeFor[json.RawMessage]():
			r := validRecord()
			field(r).SetBytes([]byte(`"` + bad + `"`))
			each(name, r)
		case ft == reflect.TypeFor[map[string]json.RawMessage]():
			r := validRecord()
			field(r).Set(reflect.ValueOf(map[string]json.RawMessage{"k": json.RawMessage(`"` + bad + `"`)}))
			each(name+" value", r)
			r = validRecord()
			field(r).Set(reflect.ValueOf(map[string]json.RawMessage{bad: json.RawMessage(`1`)}))
			each(name+" key", r)
		case ft.Kind() == reflect.String:
			if ft != reflect.TypeFor[string]() {
				return // a named string type (the record type) has its own check
			}
			r := validRecord()
			field(r).SetString(bad)
			each(name, r)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.String:
			r := validRecord()
			field(r).Set(reflect.ValueOf([]string{"ok", bad}).Convert(ft))
			each(name, r)
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.String:
			r := validRecord()
			field(r).Set(reflect.ValueOf(&bad))
			each(name, r)
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct:
			walk(path, name, ft.Elem())
		case ft.Kind() == reflect.Struct && ft.PkgPath() == typ.PkgPath():
			for i := range ft.NumField() {
				f := ft.Field(i)
				walk(append(append([]int(nil), path...), i), name+"."+f.Name, f.Type)
			}
		}
	}
	for i := range typ.NumField() {
		f := typ.Field(i)
		walk([]int{i}, f.Name, f.Type)
	}
}

func validRecord() *message.LogRecord {
	return &message.LogRecord{Type: message.Delivery, ID: "1", Sender: "a@b.c", Recipient: message.Recipients{"d@e.f"}}
}

func TestCheckTextCoversEveryTextField(t *testing.T) {
	if err := checkText(validRecord()); err != nil {
		t.Fatalf("a valid record: %v", err)
	}
	n := 0
	textLeaves(t, func(path string, r *message.LogRecord) {
		n++
		err := checkText(r)
		var fe *message.FieldError
		if !errors.As(err, &fe) || !strings.Contains(fe.Problem, "UTF-8") {
			t.Errorf("%s holding invalid UTF-8: %v", path, err)
		}
	})
	if n < 20 {
		t.Fatalf("only %d text places found in LogRecord", n)
	}
	r := validRecord()
	r.Meta = map[string]json.RawMessage{"k": json.RawMessage(`{"unclosed"`)}
	if err := checkText(r); err == nil || !strings.Contains(err.Error(), `"meta.k": not valid JSON`) {
		t.Fatalf("malformed meta JSON: %v", err)
	}
	r.Meta = map[string]json.RawMessage{"k": json.RawMessage(`"\ud800"`)}
	if err := checkText(r); err == nil {
		t.Fatal("an unpaired surrogate escape in meta was accepted")
	}
}

// Engine.Log refuses a call holding one record with invalid text and keeps none of its records.
func TestLogRefusesInvalidText(t *testing.T) {
	src := `kumo.on('init', function() kumo.configure_log_hook { name = 'h' } end)
kumo.on('should_enqueue_log_record', function(msg) return true end)`
	e, err := New(Config{PolicySource: []byte(src), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer e.Stop(ctx)
	bad := validRecord()
	bad.Response.Content = "250 ok \xc3"
	err = e.Log(ctx, validRecord(), bad)
	if err == nil || !strings.Contains(err.Error(), `record 1: field "response.content"`) {
		t.Fatalf("Log with invalid UTF-8 in record 1: %v", err)
	}
	if st := e.Stats(); st.Received != 0 || st.Enqueued != 0 {
		t.Fatalf("a refused call reached the hooks: %+v", st)
	}
	if err := e.Log(ctx, validRecord()); err != nil {
		t.Fatal(err)
	}
	if st := e.Stats(); st.Received != 1 {
		t.Fatalf("after one good call: received %d", st.Received)
	}
}

func TestPlainString(t *testing.T) {
	for raw, want := range map[string]bool{`"abc"`: true, `""`: true, `"a\"b"`: false, `"a\u00e9"`: false,
		"\"\xc3\xa9\"": false, `"a`: false, `a"`: false, `"a"b"`: false, `1`: false, "\"\t\"": false} {
		if got := plainString([]byte(raw)); got != want {
			t.Errorf("plainString(%q) = %v", raw, got)
		}
		if plainString([]byte(raw)) && !json.Valid([]byte(raw)) {
			t.Errorf("%q taken as plain but not valid JSON", raw)
		}
	}
}

func FuzzPlainString(f *testing.F) {
	f.Add([]byte(`"abc"`))
	f.Add([]byte(`"a\"`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if plainString(raw) && (!json.Valid(raw) || !message.StrictText(raw)) {
			t.Fatalf("%q taken as a plain string", raw)
		}
	})
}
