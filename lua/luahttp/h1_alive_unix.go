//go:build unix

package luahttp

import (
	"net"
	"syscall"
)

// alive reports whether a pooled connection is still open and quiet: a non-blocking peek that
// finds nothing to read. A server that closed it while it was idle has sent its FIN by then (the
// peek reads end of file), and one that sent anything unasked is out of step with it.
func alive(conn net.Conn) bool {
	if cc, ok := conn.(*causeConn); ok {
		conn = cc.Conn
	}
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	open := false
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		open = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
		return true
	})
	return err == nil && open
}
