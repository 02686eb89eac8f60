package luahttp

import (
	"net"
	"strconv"
	"syscall"
	"testing"
)

// platformHostileCases are the hostile webhooks only Linux can stage.
func platformHostileCases() []hostileCase {
	return []hostileCase{
		{name: "TCP: the connection is never established",
			serve: neverConnects, timeout: hostileTimeout,
			want: []string{`timed out after 100ms \(while connecting\)`}},
	}
}

// neverConnects is a port where a TCP handshake never completes: a socket listening with a
// backlog of 0 whose one accept slot is taken by a connection nobody accepts. Linux then drops
// further SYNs, as a firewall that blackholes them would, and connect waits.
func neverConnects(t testing.TB) endpoint {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(sa.(*syscall.SockaddrInet4).Port)
	filler, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { filler.Close() })
	return endpoint{url: "http://" + addr + "/hook", open: func() int64 { return 0 }, release: func() {}}
}
