package segment

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
	"github.com/hookd/hookd/persistence/spooltest"
)

var t0 = time.Date(2026, 4, 5, 6, 7, 8, 0, time.UTC)

// faultFS is the real file system with switches for the faults a disk can have.
type faultFS struct {
	osFS
	failWrites atomic.Bool
	failSyncs  atomic.Bool
	mu         sync.Mutex
	space      *Space
	spaceCalls atomic.Int64
}

func (f *faultFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	file, err := f.osFS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f}, nil
}

func (f *faultFS) Space(path string) (Space, error) {
	f.spaceCalls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.space != nil {
		return *f.space, nil
	}
	return f.osFS.Space(path)
}

func (f *faultFS) setSpace(sp *Space) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.space = sp
}

type faultFile struct {
	File
	fs *faultFS
}

var errDiskFull = errors.New("no space left on device")

func (f *faultFile) Write(p []byte) (int, error) {
	if f.fs.failWrites.Load() {
		n, _ := f.File.Write(p[:len(p)/2]) // a torn write, as a full disk leaves it
		return n, errDiskFull
	}
	return f.File.Write(p)
}

func (f *faultFile) WriteAt(p []byte, off int64) (int, error) {
	if f.fs.failWrites.Load() {
		n, _ := f.File.WriteAt(p[:len(p)/2], off) // a torn write, as a full disk leaves it
		return n, errDiskFull
	}
	return f.File.WriteAt(p, off)
}

func (f *faultFile) Sync() error {
	if f.fs.failSyncs.Load() {
		return errors.New("input/output error")
	}
	return f.File.Sync()
}

func (f *faultFile) Datasync() error {
	if f.fs.failSyncs.Load() {
		return errors.New("input/output error")
	}
	return f.File.Datasync()
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func open(t testing.TB, dir string, mod ...func(*Options)) *Store {
	t.Helper()
	o := Options{Dir: dir, Logger: quiet(), MinFreeSpace: Threshold{Disabled: true}, MinFreeInodes: Threshold{Disabled: true},
		CompactEvery: time.Hour}
	for _, m := range mod {
		m(&o)
	}
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func entryN(n int) *persistence.Entry {
	id := spooltest.ID(n)
	body := bytes.Repeat([]byte(`{"type":"Delivery","queue":"example.com","response":{"code":250}} `), 8)
	return &persistence.Entry{ID: id, Queue: "webhook", Meta: []byte(`{"sender":"a@b","recipient":"c@d","meta":{}}`),
		Body: append(body, byte('0'+n%10))}
}

func putSync(t testing.TB, s *Store, e *persistence.Entry) {
	t.Helper()
	done := make(chan error, 1)
	s.Put(e, func(err error) { done <- err })
	if err := <-done; err != nil {
		t.Fatalf("put: %v", err)
	}
}

// flush waits until everything submitted so far is written.
func flush(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
}

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	sort.Strings(m)
	return m
}

func liveIDs(t *testing.T, s *Store) map[message.SpoolID]persistence.Entry {
	t.Helper()
	out := map[message.SpoolID]persistence.Entry{}
	if err := s.Recover(func(e *persistence.Entry) error { out[e.ID] = *e; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// framePayloads returns the payloads of every intact frame in the segments of dir, in order.
func framePayloads(t *testing.T, dir string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, path := range segFiles(t, dir) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for off := headerSize; ; {
			n, _, ok := frameAt(data[off:])
			if !ok || off+frameHeaderSize+n > len(data) {
				break
			}
			out = append(out, data[off+frameHeaderSize:off+frameHeaderSize+n])
			off += frameHeaderSize + n
		}
	}
	return out
}
