package engine

import (
	"encoding/json"
	"sort"
	"time"

	"github.com/hookd/hookd/message"
)

type timeT = time.Time

func unix(secs int64) time.Time { return time.Unix(secs, 0).UTC() }

// headerList turns a record's captured headers (a string, or a list of strings, per name) back into
// the header list of a message.
func headerList(h map[string]json.RawMessage) []message.Header {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	var out []message.Header
	for _, name := range names {
		var one string
		if json.Unmarshal(h[name], &one) == nil {
			out = append(out, message.Header{Name: name, Value: one})
			continue
		}
		var many []string
		if json.Unmarshal(h[name], &many) == nil {
			for _, v := range many {
				out = append(out, message.Header{Name: name, Value: v})
			}
		}
	}
	return out
}
