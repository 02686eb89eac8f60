package locallog

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
)

// maxNameAttempts bounds the search for a free segment name when files with the wanted names exist.
const maxNameAttempts = 10_000

// segmentFile is what a segment needs from its file; *os.File implements it. Tests substitute files
// that fail.
type segmentFile interface {
	io.Writer
	Sync() error
	Stat() (fs.FileInfo, error)
	Chmod(mode fs.FileMode) error
	Close() error
}

// createFile creates path for writing, failing if it exists.
func createFile(path string) (segmentFile, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
}

// segKey identifies an open segment: records with the same directory and suffix share it.
type segKey struct {
	dir    string
	suffix string
}

// segment is one open segment file and its encoder.
type segment struct {
	path    string
	file    segmentFile
	enc     *zstd.Encoder
	opened  time.Time // clock reading when opened; the age is measured from it
	written int64     // uncompressed line bytes, header excluded
}

// expired reports whether the segment has been open for maxAge (0 = never expires) at now.
func (s *segment) expired(now time.Time, maxAge time.Duration) bool {
	return maxAge > 0 && now.Sub(s.opened) >= maxAge
}

// write hands b to the encoder.
func (s *segment) write(b []byte) error {
	if _, err := s.enc.Write(b); err != nil {
		return fmt.Errorf("locallog: writing to %s: %w", s.path, err)
	}
	return nil
}

// flush writes the encoder's partial block to the file.
func (s *segment) flush() error {
	if err := s.enc.Flush(); err != nil {
		return fmt.Errorf("locallog: flushing %s: %w", s.path, err)
	}
	return nil
}

// finish completes the segment: it ends the zstd frame, fsyncs the file, clears its write bits
// (the "complete" signal for tailers), closes it and fsyncs its directory. Every step is attempted
// even if an earlier one failed, so the descriptor is always released and the file never stays
// writable; the errors are joined.
//
// The write bits are cleared through the open descriptor, before it is closed, rather than by path
// afterwards: nothing more is written either way, and fchmod cannot reach a different file if the
// path was replaced meanwhile.
func (s *segment) finish() error {
	var errs []error
	if err := s.enc.Close(); err != nil {
		errs = append(errs, fmt.Errorf("ending zstd frame: %w", err))
	}
	if err := s.file.Sync(); err != nil {
		errs = append(errs, fmt.Errorf("fsync: %w", err))
	}
	if err := markReadOnly(s.file); err != nil {
		errs = append(errs, err)
	}
	if err := s.file.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close: %w", err))
	}
	if err := syncDir(filepath.Dir(s.path)); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("locallog: closing %s: %w", s.path, err)
	}
	return nil
}

// abandon releases a segment whose encoder failed: the frame cannot be ended, so the file keeps the
// blocks that reached it. It is still made read-only, as no writer will append to it again.
func (s *segment) abandon() error {
	err := errors.Join(markReadOnly(s.file), s.file.Close())
	if err != nil {
		return fmt.Errorf("locallog: abandoning %s: %w", s.path, err)
	}
	return nil
}

// markReadOnly clears the write permission bits of an open file.
func markReadOnly(f segmentFile) error {
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	if err := f.Chmod(info.Mode().Perm() &^ 0o222); err != nil {
		return fmt.Errorf("clearing write bits: %w", err)
	}
	return nil
}

// syncDir fsyncs a directory, making the names of files created in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync directory: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

// markLeftovers clears the write bits of every non-dot regular file directly in dir: segments a
// previous writer left open will never be appended to again. Files that cannot be changed are
// reported through warn and skipped; an unreadable directory is an error.
func markLeftovers(dir string, warn func(path string, err error)) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("locallog: reading log dir: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil && info.Mode().Perm()&0o222 != 0 {
			err = os.Chmod(path, info.Mode().Perm()&^0o222)
		}
		if err != nil {
			warn(path, err)
		}
	}
	return nil
}

// nextStamp returns the time to name a new segment of key by: now, or one nanosecond after
// last if now is not later (see "Naming" in the package documentation).
func nextStamp(now, last time.Time) time.Time {
	if !last.IsZero() && !now.After(last) {
		return last.Add(time.Nanosecond)
	}
	return now
}

// createSegmentFile creates the file of a new segment in dir named from stamp and suffix, moving
// the stamp forward a nanosecond at a time past names that exist. It returns the file, its path
// and the stamp used.
func createSegmentFile(create func(string) (segmentFile, error), dir, suffix string,
	stamp time.Time) (segmentFile, string, time.Time, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", stamp, fmt.Errorf("locallog: creating log dir: %w", err)
	}
	for range maxNameAttempts {
		path := filepath.Join(dir, FormatSegmentName(stamp, suffix))
		f, err := create(path)
		if err == nil {
			return f, path, stamp, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, "", stamp, fmt.Errorf("locallog: creating segment: %w", err)
		}
		stamp = stamp.Add(time.Nanosecond)
	}
	return nil, "", stamp, fmt.Errorf("locallog: no free segment name in %s after %d attempts", dir, maxNameAttempts)
}
