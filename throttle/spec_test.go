package throttle

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

const day = 24 * time.Hour

// parseCase is one case of TestParse.
type parseCase struct {
	in      string
	want    Spec
	wantErr string // the whole error text; "" means success
}

var parseCases = []parseCase{
	// Units, exactly as KumoMTA spells them.
	{in: "100/s", want: Spec{Limit: 100, Period: time.Second}},
	{in: "100/sec", want: Spec{Limit: 100, Period: time.Second}},
	{in: "100/second", want: Spec{Limit: 100, Period: time.Second}},
	{in: "10/m", want: Spec{Limit: 10, Period: time.Minute}},
	{in: "10/min", want: Spec{Limit: 10, Period: time.Minute}},
	{in: "10/minute", want: Spec{Limit: 10, Period: time.Minute}},
	{in: "50/h", want: Spec{Limit: 50, Period: time.Hour}},
	{in: "50/hr", want: Spec{Limit: 50, Period: time.Hour}},
	{in: "100/hour", want: Spec{Limit: 100, Period: time.Hour}},
	{in: "5/d", want: Spec{Limit: 5, Period: day}},
	{in: "5/day", want: Spec{Limit: 5, Period: day}},
	// Thousands separators and Rust's integer syntax.
	{in: "1,000/h", want: Spec{Limit: 1000, Period: time.Hour}},
	{in: "1_000/hr", want: Spec{Limit: 1000, Period: time.Hour}},
	{in: "1_0,0/hour", want: Spec{Limit: 100, Period: time.Hour}},
	{in: ",5,/s", want: Spec{Limit: 5, Period: time.Second}},
	{in: "+5/s", want: Spec{Limit: 5, Period: time.Second}},
	{in: "18446744073709551615/s", want: Spec{Limit: 1<<64 - 1, Period: time.Second}},
	// Numeric period prefix.
	{in: "5/5m", want: Spec{Limit: 5, Period: 5 * time.Minute}},
	{in: "local:100/123m", want: Spec{Limit: 100, Period: 123 * time.Minute, Local: true}},
	{in: "1/05s", want: Spec{Limit: 1, Period: 5 * time.Second}},
	{in: "1/2d", want: Spec{Limit: 1, Period: 2 * day}},
	{in: "1/9223372036s", want: Spec{Limit: 1, Period: 9223372036 * time.Second}},
	// local: and max_burst.
	{in: "local:5/s", want: Spec{Limit: 5, Period: time.Second, Local: true}},
	{in: "100/s,max_burst=10", want: Spec{Limit: 100, Period: time.Second, MaxBurst: 10}},
	{in: "50/day,max_burst=1", want: Spec{Limit: 50, Period: day, MaxBurst: 1}},
	{in: "local:5/s,max_burst=1,000", want: Spec{Limit: 5, Period: time.Second, MaxBurst: 1000, Local: true}},

	// Errors.
	{in: "", wantErr: `invalid throttle spec "": expected LIMIT/PERIOD, such as 100/s or 1,000/h`},
	{in: "100", wantErr: `invalid throttle spec "100": expected LIMIT/PERIOD, such as 100/s or 1,000/h`},
	{in: "100/our", wantErr: `invalid throttle spec "100/our": unknown period unit "our" ` +
		`(use s, sec, second, m, min, minute, h, hr, hour, d or day)`},
	{in: "100/hours", wantErr: `invalid throttle spec "100/hours": unknown period unit "hours" ` +
		`(use s, sec, second, m, min, minute, h, hr, hour, d or day); plural units are not accepted`},
	{in: "100/secs", wantErr: `invalid throttle spec "100/secs": unknown period unit "secs" ` +
		`(use s, sec, second, m, min, minute, h, hr, hour, d or day); plural units are not accepted`},
	{in: "100/ms", wantErr: `invalid throttle spec "100/ms": unknown period unit "ms" ` +
		`(use s, sec, second, m, min, minute, h, hr, hour, d or day)`},
	{in: "100/S", wantErr: `invalid throttle spec "100/S": unknown period unit "S" ` +
		`(use s, sec, second, m, min, minute, h, hr, hour, d or day)`},
	{in: "100/ s", wantErr: `invalid throttle spec "100/ s": unknown period unit " s" ` +
		`(use s, sec, second, m, min, minute, h, hr, hour, d or day)`},
	{in: "100/", wantErr: `invalid throttle spec "100/": missing period after '/' ` +
		`(use s, sec, second, m, min, minute, h, hr, hour, d or day)`},
	{in: "100/5", wantErr: `invalid throttle spec "100/5": period "5" has no unit ` +
		`(use s, sec, second, m, min, minute, h, hr, hour, d or day)`},
	{in: "5/0s", wantErr: `invalid throttle spec "5/0s": period "0s" must be greater than 0`},
	{in: "1/9223372037s", wantErr: `invalid throttle spec "1/9223372037s": ` +
		`period "9223372037s" is too long (at most 9223372036 seconds)`},
	{in: "1/99999999999999999999d", wantErr: `invalid throttle spec "1/99999999999999999999d": ` +
		`period "99999999999999999999d" is too long (at most 9223372036 seconds)`},
	{in: "three/hour", wantErr: `invalid throttle spec "three/hour": invalid limit "three": invalid digit found in string`},
	{in: " 100/s", wantErr: `invalid throttle spec " 100/s": invalid limit " 100": invalid digit found in string`},
	{in: "-5/s", wantErr: `invalid throttle spec "-5/s": invalid limit "-5": invalid digit found in string`},
	{in: "+/s", wantErr: `invalid throttle spec "+/s": invalid limit "+": invalid digit found in string`},
	{in: "/s", wantErr: `invalid throttle spec "/s": invalid limit "": cannot parse integer from empty string`},
	{in: "_,/s", wantErr: `invalid throttle spec "_,/s": invalid limit "_,": cannot parse integer from empty string`},
	{in: "18446744073709551616/s", wantErr: `invalid throttle spec "18446744073709551616/s": ` +
		`invalid limit "18446744073709551616": number too large to fit in target type`},
	{in: "0/s", wantErr: `invalid throttle spec "0/s": limit must be greater than 0`},
	{in: "0,000/h", wantErr: `invalid throttle spec "0,000/h": limit must be greater than 0`},
	{in: "local:local:5/s", wantErr: `invalid throttle spec "local:local:5/s": invalid limit "local:5": ` +
		`invalid digit found in string`},
	{in: "LOCAL:5/s", wantErr: `invalid throttle spec "LOCAL:5/s": invalid limit "LOCAL:5": invalid digit found in string`},
	{in: "5/s,max_burst=0", wantErr: `invalid throttle spec "5/s,max_burst=0": max_burst must be greater than 0 ` +
		`(leave it out to allow a burst of the whole limit)`},
	{in: "5/s,max_burst=", wantErr: `invalid throttle spec "5/s,max_burst=": invalid max_burst "": ` +
		`cannot parse integer from empty string`},
	{in: "5/s,max_burst=2,max_burst=3", wantErr: `invalid throttle spec "5/s,max_burst=2,max_burst=3": ` +
		`invalid max_burst "2,max_burst=3": invalid digit found in string`},
	{in: "5/s,burst=2", wantErr: `invalid throttle spec "5/s,burst=2": unknown period unit "s,burst=2" ` +
		`(use s, sec, second, m, min, minute, h, hr, hour, d or day)`},
	{in: "5/s ", wantErr: `invalid throttle spec "5/s ": unknown period unit "s " ` +
		`(use s, sec, second, m, min, minute, h, hr, hour, d or day)`},
}

func TestParse(t *testing.T) {
	for _, tt := range parseCases {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("Parse(%q) = %+v, want error %q", tt.in, got, tt.wantErr)
				}
				if err.Error() != tt.wantErr {
					t.Fatalf("Parse(%q) error:\n got %q\nwant %q", tt.in, err, tt.wantErr)
				}
				var pe *ParseError
				if !errors.As(err, &pe) || pe.Spec != tt.in {
					t.Fatalf("Parse(%q) error %#v is not a *ParseError naming the input", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			back, err := Parse(got.String())
			if err != nil || back != got {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", got.String(), back, err, got)
			}
		})
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		spec Spec
		want string
	}{
		{Spec{Limit: 100, Period: time.Hour}, "100/h"},
		{Spec{Limit: 100, Period: time.Hour, Local: true}, "local:100/h"},
		{Spec{Limit: 1, Period: time.Second}, "1/s"},
		{Spec{Limit: 10, Period: time.Minute}, "10/m"},
		{Spec{Limit: 5, Period: 24 * time.Hour}, "5/d"},
		{Spec{Limit: 100, Period: 123 * time.Minute, Local: true}, "local:100/7380s"},
		{Spec{Limit: 5, Period: 5 * time.Minute}, "5/300s"},
		{Spec{Limit: 50, Period: 24 * time.Hour, MaxBurst: 1}, "50/d,max_burst=1"},
		{Spec{Limit: 5, Period: time.Second, MaxBurst: 9, Local: true}, "local:5/s,max_burst=9"},
		// Not representable: written so that Parse refuses them.
		{Spec{Limit: 5, Period: 1500 * time.Millisecond}, "5/1.5s"},
		{Spec{Limit: 5}, "5/0s"},
		{Spec{Period: time.Second}, "0/s"},
	}
	for _, tt := range tests {
		if got := tt.spec.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.spec, got, tt.want)
		}
	}
	for _, bad := range tests[len(tests)-3:] {
		if _, err := Parse(bad.spec.String()); err == nil {
			t.Errorf("Parse(%q) succeeded for an unrepresentable spec", bad.spec.String())
		}
	}
}

func TestBurstAndValidate(t *testing.T) {
	tests := []struct {
		spec    Spec
		burst   uint64
		invalid bool
	}{
		{spec: Spec{Limit: 10, Period: time.Second}, burst: 10},
		{spec: Spec{Limit: 10, Period: time.Second, MaxBurst: 3}, burst: 3},
		{spec: Spec{Limit: 10, Period: time.Second, MaxBurst: 10}, burst: 10},
		{spec: Spec{Limit: 10, Period: time.Second, MaxBurst: 11}, burst: 10},
		{spec: Spec{Period: time.Second}, burst: 0, invalid: true},
		{spec: Spec{Limit: 1, Period: -time.Second}, burst: 1, invalid: true},
	}
	for _, tt := range tests {
		if got := tt.spec.Burst(); got != tt.burst {
			t.Errorf("%v.Burst() = %d, want %d", tt.spec, got, tt.burst)
		}
		if err := tt.spec.Validate(); (err != nil) != tt.invalid {
			t.Errorf("%v.Validate() = %v, want invalid=%v", tt.spec, err, tt.invalid)
		}
	}
}

func TestSpecJSON(t *testing.T) {
	var cfg struct {
		Rate Spec `json:"max_message_rate"`
	}
	if err := json.Unmarshal([]byte(`{"max_message_rate":"local:1,000/5m,max_burst=7"}`), &cfg); err != nil {
		t.Fatal(err)
	}
	want := Spec{Limit: 1000, Period: 5 * time.Minute, MaxBurst: 7, Local: true}
	if cfg.Rate != want {
		t.Fatalf("decoded %+v, want %+v", cfg.Rate, want)
	}
	out, err := json.Marshal(cfg)
	if err != nil || string(out) != `{"max_message_rate":"local:1000/300s,max_burst=7"}` {
		t.Fatalf("encoded %s, %v", out, err)
	}
	err = json.Unmarshal([]byte(`{"max_message_rate":"10/hours"}`), &cfg)
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("decoding a bad spec gave %v, want a *ParseError", err)
	}
}
