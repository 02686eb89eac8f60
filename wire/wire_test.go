package wire

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/anthdm/hollywood/remote"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// files are every .proto of the package: a message added to any of them is covered by the tests.
// (A function: the descriptors are set by the generated init functions, after package variables.)
func files() []protoreflect.FileDescriptor {
	var out []protoreflect.FileDescriptor
	protoregistry.GlobalFiles.RangeFilesByPackage("hookd.wire.v1", func(f protoreflect.FileDescriptor) bool {
		out = append(out, f)
		return true
	})
	slices.SortFunc(out, func(a, b protoreflect.FileDescriptor) int { return strings.Compare(a.Path(), b.Path()) })
	return out
}

// TestEveryFileIsWalked keeps files() honest: it finds every .proto of the package.
func TestEveryFileIsWalked(t *testing.T) {
	protos, err := filepath.Glob("*.proto")
	if err != nil {
		t.Fatal(err)
	}
	if got := files(); len(got) != len(protos) || len(protos) == 0 {
		t.Fatalf("files() finds %d descriptors for the %d .proto files %v", len(got), len(protos), protos)
	}
}

// messages lists every message type the package declares, nested ones included.
func messages(t testing.TB) []protoreflect.MessageType {
	t.Helper()
	var out []protoreflect.MessageType
	var walk func(ms protoreflect.MessageDescriptors)
	walk = func(ms protoreflect.MessageDescriptors) {
		for i := 0; i < ms.Len(); i++ {
			md := ms.Get(i)
			if md.IsMapEntry() {
				continue
			}
			mt, err := protoregistry.GlobalTypes.FindMessageByName(md.FullName())
			if err != nil {
				t.Fatalf("%s is declared but not registered: %v", md.FullName(), err)
			}
			out = append(out, mt)
			walk(md.Messages())
		}
	}
	for _, f := range files() {
		walk(f.Messages())
	}
	return out
}

// fill sets every field of m to a value chosen by r, so that a field a codec dropped or confused
// with another shows as a difference.
func fill(m protoreflect.Message, r *rand.Rand, depth int) {
	fs := m.Descriptor().Fields()
	for i := 0; i < fs.Len(); i++ {
		fd := fs.Get(i)
		switch {
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			for j := 0; j < 2; j++ {
				k := scalar(fd.MapKey(), r).MapKey()
				if fd.MapValue().Kind() == protoreflect.MessageKind {
					if depth > 0 {
						fill(mp.Mutable(k).Message(), r, depth-1)
					}
					continue
				}
				mp.Set(k, scalar(fd.MapValue(), r))
			}
		case fd.IsList():
			l := m.Mutable(fd).List()
			for j := 0; j < 2; j++ {
				if fd.Kind() == protoreflect.MessageKind {
					if depth > 0 {
						fill(l.AppendMutable().Message(), r, depth-1)
					}
					continue
				}
				l.Append(scalar(fd, r))
			}
		case fd.Kind() == protoreflect.MessageKind:
			if depth > 0 {
				fill(m.Mutable(fd).Message(), r, depth-1)
			}
		default:
			m.Set(fd, scalar(fd, r))
		}
	}
}

// scalar is a non-zero value of fd's kind.
func scalar(fd protoreflect.FieldDescriptor, r *rand.Rand) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(true)
	case protoreflect.EnumKind:
		vs := fd.Enum().Values()
		return protoreflect.ValueOfEnum(vs.Get(1 + r.IntN(vs.Len()-1)).Number())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(1 + r.Int32N(1<<30))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(1 + r.Int64N(1<<62))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(1 + r.Uint32N(1<<31))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(1 + r.Uint64N(1<<63))
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(r.Float32() + 1)
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(r.Float64() + 1)
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(fmt.Sprintf("s-%d-é", r.Uint32()))
	case protoreflect.BytesKind:
		b := make([]byte, 1+r.IntN(40))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return protoreflect.ValueOfBytes(b)
	}
	panic(fmt.Sprintf("field %s: kind %s not covered", fd.FullName(), fd.Kind()))
}

// TestRoundTrip sends every message, each field set, through the serializer hollywood's remote uses
// between members: what arrives is the same message, found by the type name that travels with it.
func TestRoundTrip(t *testing.T) {
	var ser remote.ProtoSerializer
	ms := messages(t)
	if len(ms) < 19 {
		t.Fatalf("%d messages found in the package's files; the list of files is stale", len(ms))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, mt := range ms {
		for round := 0; round < 5; round++ {
			m := mt.New()
			fill(m, r, 2)
			if fs := m.Descriptor().Fields(); fs.Len() > 0 {
				for i := 0; i < fs.Len(); i++ {
					if !m.Has(fs.Get(i)) && fs.Get(i).Kind() != protoreflect.MessageKind {
						t.Fatalf("%s: field %s left unset by fill", mt.Descriptor().FullName(), fs.Get(i).Name())
					}
				}
			}
			data, err := ser.Serialize(m.Interface())
			if err != nil {
				t.Fatalf("%s: serialize: %v", mt.Descriptor().FullName(), err)
			}
			name := ser.TypeName(m.Interface())
			if name != string(mt.Descriptor().FullName()) {
				t.Fatalf("type name %q for %s", name, mt.Descriptor().FullName())
			}
			back, err := ser.Deserialize(data, name)
			if err != nil {
				t.Fatalf("%s: deserialize: %v", name, err)
			}
			if !proto.Equal(back.(proto.Message), m.Interface()) {
				t.Fatalf("%s changed on the way:\n sent %v\n got  %v", name, m.Interface(), back)
			}
		}
	}
}

// TestUnknownType: a type name the package does not declare is an error, not a zero value.
func TestUnknownType(t *testing.T) {
	if _, err := (remote.ProtoSerializer{}).Deserialize(nil, "hookd.wire.v1.NoSuchMessage"); err == nil {
		t.Fatal("an unknown type name deserialized")
	}
}

// FuzzUnmarshal feeds arbitrary bytes to the decoder of every message: an error or a message, never
// a panic, and a decoded message encodes and decodes to itself.
func FuzzUnmarshal(f *testing.F) {
	ms := messages(f)
	r := rand.New(rand.NewPCG(3, 4))
	for i, mt := range ms {
		m := mt.New()
		fill(m, r, 2)
		data, err := proto.Marshal(m.Interface())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), data)
		f.Add(uint8(i), data[:len(data)/2])
	}
	f.Add(uint8(0), []byte{0xff, 0xff, 0xff, 0xff, 0x0f})
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
	})
}
