package engine

import "time"

type timeT = time.Time

func unix(secs int64) time.Time { return time.Unix(secs, 0).UTC() }

func convert[A, B any](in []A, f func(A) B) []B {
	if in == nil {
		return nil
	}
	out := make([]B, len(in))
	for i, a := range in {
		out[i] = f(a)
	}
	return out
}
