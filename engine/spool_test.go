package engine

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
)

// lowSpool is an in-memory spool whose disk is always full.
type lowSpool struct{ *persistence.Memory }

func (lowSpool) LowSpace() bool { return true }

func TestSpoolSelection(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	policy := func(dir string) []byte {
		src := `kumo.on('init', function() kumo.configure_log_hook { name = 'h' } end)`
		if dir != "" {
			src += "\nkumo.on('pre_init', function() kumo.define_spool { name = 'data', path = '" + dir + "', min_free_space = '0%' } end)"
		}
		return []byte(src)
	}
	t.Run("SpoolDir wins over define_spool", func(t *testing.T) {
		a, b := t.TempDir(), t.TempDir()
		e, err := New(Config{PolicySource: policy(a), SpoolDir: b, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer e.Stop(context.Background())
		if e.SpoolDir() != b {
			t.Fatalf("spool in %q, want %q", e.SpoolDir(), b)
		}
		if m, _ := filepath.Glob(filepath.Join(b, "*.seg")); len(m) == 0 {
			t.Fatal("no segment file in the spool directory")
		}
	})
	t.Run("define_spool names the directory when SpoolDir is empty", func(t *testing.T) {
		a := filepath.Join(t.TempDir(), "spool")
		e, _ := New(Config{PolicySource: policy(a), Logger: quiet, DefaultSpoolDir: "never-used"})
		if err := e.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer e.Stop(context.Background())
		if e.SpoolDir() != a {
			t.Fatalf("spool in %q, want %q", e.SpoolDir(), a)
		}
		if _, err := os.Stat("never-used"); err == nil {
			t.Fatal("the default directory was created although the policy named one")
		}
	})
	t.Run("with nothing configured the spool is in memory", func(t *testing.T) {
		e, _ := New(Config{PolicySource: policy(""), Logger: quiet})
		if err := e.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer e.Stop(context.Background())
		if e.SpoolDir() != "memory" {
			t.Fatalf("spool %q", e.SpoolDir())
		}
	})
	t.Run("a spool below its minimum free space refuses records", func(t *testing.T) {
		e, _ := New(Config{PolicySource: policy(""), Logger: quiet, spool: lowSpool{persistence.NewMemory()}})
		if err := e.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer e.Stop(context.Background())
		err := e.Log(context.Background(), &message.LogRecord{Type: message.Delivery, Sender: "a@b.c", Recipient: message.Recipients{"d@e.f"}})
		if !errors.Is(err, ErrLowSpace) {
			t.Fatalf("Log on a full disk: %v", err)
		}
		if err := e.Accepting(); !errors.Is(err, ErrLowSpace) {
			t.Fatalf("Accepting on a full disk: %v", err)
		}
	})
}
