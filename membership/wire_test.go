package membership

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/hookd/hookd/wire"
)

// wire/wire_test.go round-trips every message of every .proto, membership.proto's included; the fuzz
// target here also feeds what decodes to a member's core.

// membershipMessages are the message types of wire/membership.proto.
func membershipMessages(t testing.TB) []protoreflect.MessageType {
	t.Helper()
	ms := wire.File_membership_proto.Messages()
	var out []protoreflect.MessageType
	for i := 0; i < ms.Len(); i++ {
		mt, err := protoregistry.GlobalTypes.FindMessageByName(ms.Get(i).FullName())
		if err != nil {
			t.Fatalf("%s is declared but not registered: %v", ms.Get(i).FullName(), err)
		}
		out = append(out, mt)
	}
	if len(out) < 8 {
		t.Fatalf("membership.proto declares %d messages", len(out))
	}
	return out
}

// fillMessage sets every field of m to a non-zero value chosen by r.
func fillMessage(m protoreflect.Message, r *rand.Rand, depth int) {
	fs := m.Descriptor().Fields()
	for i := 0; i < fs.Len(); i++ {
		fd := fs.Get(i)
		switch {
		case fd.IsList():
			l := m.Mutable(fd).List()
			for j := 0; j < 2; j++ {
				if fd.Kind() == protoreflect.MessageKind {
					if depth > 0 {
						fillMessage(l.AppendMutable().Message(), r, depth-1)
					}
					continue
				}
				l.Append(value(fd, r))
			}
		case fd.Kind() == protoreflect.MessageKind:
			if depth > 0 {
				fillMessage(m.Mutable(fd).Message(), r, depth-1)
			}
		default:
			m.Set(fd, value(fd, r))
		}
	}
}

func value(fd protoreflect.FieldDescriptor, r *rand.Rand) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.EnumKind:
		vs := fd.Enum().Values()
		return protoreflect.ValueOfEnum(vs.Get(1 + r.IntN(vs.Len()-1)).Number())
	case protoreflect.Uint32Kind:
		return protoreflect.ValueOfUint32(1 + r.Uint32N(1<<31))
	case protoreflect.Uint64Kind:
		return protoreflect.ValueOfUint64(1 + r.Uint64N(1<<63))
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(fmt.Sprintf("s-%d-é", r.Uint32()))
	}
	panic(fmt.Sprintf("field %s: kind %s not covered", fd.FullName(), fd.Kind()))
}

// TestWireRoundTrip sends every membership message, each field set, through hollywood's remote
// serializer: the same message arrives, found by the type name that travels with it.
// FuzzDecodeAndReceive decodes arbitrary bytes as each membership message and hands what decodes
// to a member's core that holds two live peers: never a panic, a decoded message encodes back to
// itself, and whatever the core asks for is well formed.
func FuzzDecodeAndReceive(f *testing.F) {
	ms := membershipMessages(f)
	r := rand.New(rand.NewPCG(7, 8))
	for i, mt := range ms {
		m := mt.New()
		fillMessage(m, r, 2)
		data, err := proto.Marshal(m.Interface())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), data)
		f.Add(uint8(i), data[:len(data)/2])
	}
	for i, msg := range []proto.Message{
		&wire.Join{Member: &wire.MemberInfo{Id: "b", Addr: "h:2", Incarnation: 9}, PolicyHash: "p", Protocol: Protocol},
		&wire.Heartbeat{Id: "b", Addr: "h:2", Incarnation: 1, ReleasedView: 4},
		&wire.Refused{Member: &wire.MemberInfo{Id: "b", Addr: "h:2"}, Incarnation: 1, Code: 9},
	} {
		data, _ := proto.Marshal(msg)
		f.Add(uint8(i), data)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		mt := ms[int(which)%len(ms)]
		m := mt.New().Interface()
		if err := proto.Unmarshal(data, m); err != nil {
			return
		}
		again, err := proto.Marshal(m)
		if err != nil {
			t.Fatalf("%s decoded but does not encode: %v", mt.Descriptor().FullName(), err)
		}
		back := mt.New().Interface()
		if err := proto.Unmarshal(again, back); err != nil || !proto.Equal(back, m) {
			t.Fatalf("%s: re-encoded message differs (%v)", mt.Descriptor().FullName(), err)
		}

		cfg := Config{ID: "a", Addr: "h:1", Incarnation: 1, PolicyHash: "p", Heartbeat: time.Second,
			DeadAfter: 5 * time.Second, JoinTimeout: 30 * time.Second}
		c := newCore(cfg, []string{"h:2"}, Protocol, nil, "")
		c.start(start)
		for _, id := range []string{"b", "c"} {
			c.admit(start, &wire.MemberInfo{Id: id, Addr: "h:" + id, Incarnation: 1})
		}
		c.take()
		c.receive(start.Add(time.Second), m)
		c.tick(start.Add(2 * time.Second))
		e := c.take()
		for _, s := range e.sends {
			if s.addr == "" || s.msg == nil {
				t.Fatalf("a send with no address or message: %+v", s)
			}
		}
		for _, p := range e.views {
			if _, ok := p.view.Member("a"); !ok || len(p.agent) != len(p.view.Members) {
				t.Fatalf("view %v without this member, or agent set %v of another size", p.view, p.agent)
			}
		}
		if e.fatal != nil && len(e.fatal.Error()) == 0 {
			t.Fatal("an empty fatal error")
		}
	})
}
