package segment

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestPreallocatedSegments: the active segment is zero-filled ahead of its frames; a crash leaves
// the zeros, which replay reads as the segment's end (no repair reported); a close or a roll cuts
// them off.
func TestPreallocatedSegments(t *testing.T) {
	const chunk = 64 << 10
	dir := t.TempDir()
	s := open(t, dir, func(o *Options) { o.Preallocate = chunk })
	for i := 1; i <= 50; i++ {
		putSync(t, s, entryN(i))
	}
	s.Delete(entryN(7).ID)
	flush(t, s)
	files := segFiles(t, dir)
	if len(files) != 1 {
		t.Fatalf("segments %v, want one", files)
	}
	st, err := os.Stat(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() <= s.writeOff || st.Size()%chunk != 0 {
		t.Fatalf("active segment is %d bytes with frames up to %d: want it zero-filled to a multiple of %d", st.Size(), s.writeOff, chunk)
	}

	// A crash: the files as they are while the store runs.
	crashed := t.TempDir()
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(crashed, filepath.Base(files[0])), data, 0o644); err != nil {
		t.Fatal(err)
	}
	r := open(t, crashed)
	if rep := r.Report(); len(rep.Repairs) != 0 || rep.Live != 49 {
		t.Errorf("after a crash: %d live, repairs %q; want 49 and none", rep.Live, rep.Repairs)
	}
	for i := 1; i <= 50; i++ {
		got, err := r.Load(entryN(i).ID)
		if i == 7 {
			if err == nil {
				t.Error("the deleted message came back")
			}
			continue
		}
		if err != nil || !bytes.Equal(got.Body, entryN(i).Body) {
			t.Fatalf("message %d after a crash: %v", i, err)
		}
	}
	r.Close()
	if st, _ := os.Stat(filepath.Join(crashed, filepath.Base(files[0]))); st.Size() >= int64(len(data)) {
		t.Errorf("the recovered segment kept its zeros: %d bytes", st.Size())
	}

	// A torn frame in the preallocated space is still a torn tail, and reported.
	torn := t.TempDir()
	bad := bytes.Clone(data)
	copy(bad[s.writeOff:], appendFrameHeader(nil, []byte("never finished")))
	if err := os.WriteFile(filepath.Join(torn, filepath.Base(files[0])), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	r = open(t, torn)
	if rep := r.Report(); len(rep.Repairs) != 1 || rep.Live != 49 {
		t.Errorf("torn frame in preallocated space: %d live, repairs %q; want 49 and one", rep.Live, rep.Repairs)
	}
	r.Close()

	// Close cuts the zeros; so does a roll, for the segment it seals.
	end := s.writeOff
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(files[0]); st.Size() != end {
		t.Errorf("closed segment is %d bytes, its frames end at %d", st.Size(), end)
	}
	s = open(t, dir, func(o *Options) { o.Preallocate = chunk; o.MaxSegmentSize = 4 << 10 })
	defer s.Close()
	for i := 100; i < 200; i++ {
		putSync(t, s, entryN(i))
	}
	files = segFiles(t, dir)
	if len(files) < 3 {
		t.Fatalf("segments %v: want rolls", files)
	}
	for _, f := range files[:len(files)-1] {
		if st, _ := os.Stat(f); st.Size()%chunk == 0 {
			t.Errorf("sealed segment %s is %d bytes: its zeros were not cut", f, st.Size())
		}
	}
}
