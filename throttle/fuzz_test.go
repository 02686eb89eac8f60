package throttle

import "testing"

// FuzzParse checks that Parse never panics and that every spec it accepts
// is valid and survives the String round trip.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"100/s", "10/min", "1,000/h", "50/hr", "5/5m", "local:5/s", "100/s,max_burst=10",
		"1_0,0/hour", "+5/s", "5/0s", "100/hours", "local:100/123m,max_burst=1_000",
		"18446744073709551615/9223372036s", "1/99999999999999999999d", "", "/", ",max_burst=",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := Parse(s)
		if err != nil {
			if spec != (Spec{}) {
				t.Fatalf("Parse(%q) failed but returned %+v", s, spec)
			}
			return
		}
		if err := spec.Validate(); err != nil {
			t.Fatalf("Parse(%q) = %+v, which is invalid: %v", s, spec, err)
		}
		back, err := Parse(spec.String())
		if err != nil || back != spec {
			t.Fatalf("Parse(%q) = %+v; Parse(%q) = %+v, %v", s, spec, spec.String(), back, err)
		}
	})
}
