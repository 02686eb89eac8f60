package segment

import (
	"io"
	"os"
	"syscall"
)

// File is what the store needs of an open segment file. Tests substitute failing files.
type File interface {
	io.ReaderAt
	io.Writer
	io.WriterAt
	Sync() error
	// Datasync makes written data durable without flushing metadata that reading it back does not
	// need (fdatasync): cheaper than Sync for appends.
	Datasync() error
	Truncate(size int64) error
	Stat() (os.FileInfo, error)
	Close() error
}

// FS is the file system the store works on. OS is the real one; tests inject faults through their own.
type FS interface {
	OpenFile(name string, flag int, perm os.FileMode) (File, error)
	Remove(name string) error
	Rename(from, to string) error
	ReadDir(name string) ([]os.DirEntry, error)
	MkdirAll(name string, perm os.FileMode) error
	// SyncDir makes the directory's entries (created and removed files) durable.
	SyncDir(name string) error
	// Space reports free and total bytes and inodes of the file system holding path.
	Space(path string) (Space, error)
}

// Space is a file system's free and total capacity.
type Space struct {
	FreeBytes, TotalBytes   uint64
	FreeInodes, TotalInodes uint64
}

// OS is the operating system's file system.
var OS FS = osFS{}

type osFS struct{}

func (osFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

type osFile struct{ *os.File }

func (f osFile) Datasync() error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			if err != nil {
				return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}

func (osFS) Remove(name string) error                     { return os.Remove(name) }
func (osFS) Rename(from, to string) error                 { return os.Rename(from, to) }
func (osFS) ReadDir(name string) ([]os.DirEntry, error)   { return os.ReadDir(name) }
func (osFS) MkdirAll(name string, perm os.FileMode) error { return os.MkdirAll(name, perm) }

func (osFS) SyncDir(name string) error {
	d, err := os.Open(name)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (osFS) Space(path string) (Space, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return Space{}, err
	}
	bs := uint64(st.Bsize)
	return Space{FreeBytes: st.Bavail * bs, TotalBytes: st.Blocks * bs, FreeInodes: st.Ffree, TotalInodes: st.Files}, nil
}
