package loopback

import (
	"net"
	"strconv"
	"testing"
)

func TestFreeAddrIsBelowTheEphemeralRange(t *testing.T) {
	hi := ephemeralStart(readRange())
	for range 20 {
		addr, err := FreeAddr()
		if err != nil {
			t.Fatal(err)
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host != "127.0.0.1" {
			t.Fatalf("%q: want 127.0.0.1:PORT (%v)", addr, err)
		}
		p, _ := strconv.Atoi(port)
		if hi > lowest && (p < lowest || p >= hi) {
			t.Errorf("%s: want a port in [%d, %d)", addr, lowest, hi)
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("listening on %s: %v", addr, err)
		}
		l.Close()
	}
}

func TestFreeAddrSkipsAPortInUse(t *testing.T) {
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(addr)
	taken, _ := strconv.Atoi(port)
	hi := ephemeralStart(readRange())
	if taken < lowest || taken >= hi {
		t.Skipf("no room below the ephemeral range (%d)", hi)
	}
	picks := 0
	intn := func(int) int { // the taken port twice, then the one after it
		picks++
		if picks <= 2 {
			return taken - lowest
		}
		return taken + 1 - lowest
	}
	got, err := freeAddr(hi, intn)
	if err == nil && got != addr && picks == 3 {
		picks = 0
		again, err := freeAddr(hi, intn) // the one after it was given: the third pick is skipped too
		if err != nil || again == got || again == addr || picks <= 3 {
			t.Errorf("freeAddr gave %q (%v) after %d picks; %s was given before", again, err, picks, got)
		}
		return
	}
	if err != nil || got == addr || picks != 3 {
		t.Fatalf("freeAddr gave %q (%v) after %d picks while %s is in use; want the next pick", got, err, picks, addr)
	}
}

func TestFreeAddrWithoutRoomBelowTheRange(t *testing.T) {
	addr, err := freeAddr(lowest, func(int) int { panic("no pick without room") })
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("%s: %v", addr, err)
	}
	l.Close()
}

func TestEphemeralStart(t *testing.T) {
	for in, want := range map[string]int{"32768\t60999\n": 32768, "49152 65535": 49152, "": defaultEphemeral,
		"x y": defaultEphemeral, "1": defaultEphemeral, "70000 80000": defaultEphemeral} {
		if got := ephemeralStart(in); got != want {
			t.Errorf("ephemeralStart(%q) = %d, want %d", in, got, want)
		}
	}
}
