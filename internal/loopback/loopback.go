// Package loopback finds free TCP addresses on the loopback interface for processes that must know
// each other's address before any of them listens (the members of a cluster on one machine).
//
// "Listen on port 0, close, hand the port on" is not enough there: the kernel gives its ephemeral
// ports to outgoing connections as well, and on a busy machine some connection may take the port
// between the close and the member's listen. FreeAddr therefore picks ports below the ephemeral
// range, which outgoing connections never use.
package loopback

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// lowest is the lowest port FreeAddr picks: above the ports of common services.
const lowest = 10000

// defaultEphemeral is where Linux's ephemeral range starts when it cannot be read.
const defaultEphemeral = 32768

// FreeAddr returns "127.0.0.1:PORT" for a port nothing listened on a moment ago, chosen at random
// below the ephemeral range (or from the ephemeral range when there is no room below it). It never
// returns an address twice in one process, so a test's member cannot be reached by the connections
// of an earlier test's member that had its address.
func FreeAddr() (string, error) { return freeAddr(ephemeralStart(readRange()), rand.IntN) }

var (
	givenMu sync.Mutex
	given   = map[string]bool{} // every address FreeAddr returned
)

// freeAddr is FreeAddr with the range's start and the random source given.
func freeAddr(hi int, intn func(int) int) (string, error) {
	givenMu.Lock()
	defer givenMu.Unlock()
	for range 64 {
		if hi <= lowest {
			break
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(lowest+intn(hi-lowest)))
		if !given[addr] && free(addr) {
			given[addr] = true
			return addr, nil
		}
	}
	for range 64 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", fmt.Errorf("loopback: no free port: %w", err)
		}
		addr := l.Addr().String()
		l.Close()
		if !given[addr] {
			given[addr] = true
			return addr, nil
		}
	}
	return "", fmt.Errorf("loopback: no free port not given before")
}

// free reports whether nothing listens at addr.
func free(addr string) bool {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// readRange is the content of Linux's ip_local_port_range, or "" elsewhere.
func readRange() string {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return ""
	}
	return string(b)
}

// ephemeralStart is the first port of the ephemeral range "LOW HIGH" (defaultEphemeral when s does
// not say).
func ephemeralStart(s string) int {
	f := strings.Fields(s)
	if len(f) != 2 {
		return defaultEphemeral
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n <= 0 || n > 65535 {
		return defaultEphemeral
	}
	return n
}

// TestAddr is FreeAddr for a test, which fails when there is no free port.
func TestAddr(t testing.TB) string {
	t.Helper()
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}
