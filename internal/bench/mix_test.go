package bench

import (
	"strings"
	"testing"

	"github.com/hookd/hookd/message"
)

func TestParseMix(t *testing.T) {
	good := []struct {
		in   string
		want Mix
	}{
		{"Delivery=1", Mix{{message.Delivery, 1}}},
		{"Delivery=0.7, bounce=0.1 ,TRANSIENTFAILURE=0.2", Mix{{message.Delivery, 0.7}, {message.Bounce, 0.1},
			{message.TransientFailure, 0.2}}},
		{"Delivery=3,Reception=0", Mix{{message.Delivery, 3}, {message.Reception, 0}}},
	}
	for _, tt := range good {
		got, err := ParseMix(tt.in)
		if err != nil {
			t.Errorf("ParseMix(%q) = %v", tt.in, err)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("ParseMix(%q) = %v; want %v", tt.in, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("ParseMix(%q)[%d] = %v; want %v", tt.in, i, got[i], tt.want[i])
			}
		}
	}

	bad := []struct{ in, want string }{
		{"", "empty; want TYPE=WEIGHT"},
		{"  ", "empty"},
		{"Delivery", `"Delivery": want TYPE=WEIGHT`},
		{"Delivery=0.5,", `"": want TYPE=WEIGHT`},
		{"Delivry=1", `"Delivry" is not a record type (known: Reception, Delivery, Bounce`},
		{"Any=1", `"Any" is not a record type`},
		{"Delivery=lots", `Delivery: weight "lots" is not a number`},
		{"Delivery=NaN", `weight "NaN" is not a number`},
		{"Delivery=+Inf", `weight "+Inf" is not a number`},
		{"Delivery=-0.5", "Delivery: weight -0.5 is negative"},
		{"Delivery=1,delivery=2", "Delivery is given twice"},
		{"Delivery=0,Bounce=0", "every weight is zero"},
	}
	for _, tt := range bad {
		_, err := ParseMix(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseMix(%q) = %v; want an error containing %q", tt.in, err, tt.want)
		}
	}
}

func TestMixStringRoundTrips(t *testing.T) {
	m, err := ParseMix("Delivery=3,Bounce=1")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.String(); got != "Delivery=0.75,Bounce=0.25" {
		t.Errorf("String = %q", got)
	}
	again, err := ParseMix(m.String())
	if err != nil || len(again) != 2 || again[0].Weight != 0.75 {
		t.Errorf("ParseMix(String) = %v, %v", again, err)
	}
}

func TestPicker(t *testing.T) {
	p := newPicker(Mix{{message.Delivery, 1}, {message.Reception, 0}, {message.Bounce, 3}})
	for _, tt := range []struct {
		u    float64
		want message.RecordType
	}{{0, message.Delivery}, {0.2499, message.Delivery}, {0.25, message.Bounce}, {0.9999999, message.Bounce}} {
		if got := p.pick(tt.u); got != tt.want {
			t.Errorf("pick(%v) = %s; want %s", tt.u, got, tt.want)
		}
	}
}
