package bench

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/hookd/hookd/message"
)

// Share is one record type of a Mix and its weight.
type Share struct {
	Type   message.RecordType `json:"type"`
	Weight float64            `json:"weight"`
}

// Mix is the proportion of each record type the generator makes. Weights are relative: they need
// not add up to 1.
type Mix []Share

// DefaultMix is a mail stream's usual shape: mostly deliveries, some retries and bounces, and the
// receptions that started them.
var DefaultMix = Mix{
	{message.Delivery, 0.7}, {message.Reception, 0.1}, {message.TransientFailure, 0.1}, {message.Bounce, 0.1},
}

// ParseMix reads TYPE=WEIGHT[,TYPE=WEIGHT...], e.g. "Delivery=0.7,Bounce=0.1,TransientFailure=0.2".
// Types are KumoMTA's record types (case does not matter); weights are non-negative numbers, at least
// one of them positive. A type may appear once.
func ParseMix(s string) (Mix, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("empty; want TYPE=WEIGHT[,TYPE=WEIGHT...], e.g. Delivery=0.8,Bounce=0.2")
	}
	var m Mix
	seen := map[message.RecordType]bool{}
	total := 0.0
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		name, weight, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("%q: want TYPE=WEIGHT, e.g. Delivery=0.7", item)
		}
		t, err := recordType(strings.TrimSpace(name))
		if err != nil {
			return nil, err
		}
		w, err := strconv.ParseFloat(strings.TrimSpace(weight), 64)
		switch {
		case err != nil || math.IsNaN(w) || math.IsInf(w, 0):
			return nil, fmt.Errorf("%s: weight %q is not a number", t, weight)
		case w < 0:
			return nil, fmt.Errorf("%s: weight %v is negative", t, w)
		case seen[t]:
			return nil, fmt.Errorf("%s is given twice", t)
		}
		seen[t] = true
		total += w
		m = append(m, Share{t, w})
	}
	if total <= 0 {
		return nil, errors.New("every weight is zero: at least one record type needs a positive weight")
	}
	return m, nil
}

// recordType finds a record type by name, ignoring case.
func recordType(name string) (message.RecordType, error) {
	var names []string
	for _, t := range message.RecordTypes() {
		if strings.EqualFold(string(t), name) {
			return t, nil
		}
		names = append(names, string(t))
	}
	return "", fmt.Errorf("%q is not a record type (known: %s)", name, strings.Join(names, ", "))
}

// String writes the mix back in ParseMix's form, weights normalised to fractions.
func (m Mix) String() string {
	total := m.total()
	parts := make([]string, 0, len(m))
	for _, s := range m {
		parts = append(parts, fmt.Sprintf("%s=%s", s.Type, strconv.FormatFloat(s.Weight/total, 'g', 4, 64)))
	}
	return strings.Join(parts, ",")
}

func (m Mix) total() float64 {
	t := 0.0
	for _, s := range m {
		t += s.Weight
	}
	return t
}

// picker turns a uniform number in [0, 1) into a record type with the mix's proportions.
type picker struct {
	bounds []float64 // cumulative fractions; the last is 1
	types  []message.RecordType
}

func newPicker(m Mix) picker {
	total, acc := m.total(), 0.0
	var p picker
	for _, s := range m {
		if s.Weight == 0 {
			continue
		}
		acc += s.Weight / total
		p.bounds = append(p.bounds, acc)
		p.types = append(p.types, s.Type)
	}
	p.bounds[len(p.bounds)-1] = 1
	return p
}

func (p picker) pick(u float64) message.RecordType {
	for i, b := range p.bounds {
		if u < b {
			return p.types[i]
		}
	}
	return p.types[len(p.types)-1]
}
