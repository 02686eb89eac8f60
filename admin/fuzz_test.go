package admin

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

var requestSeeds = []string{
	`{"reason":"x"}`,
	`{"campaign":"C","tenant":"T","domain":"D","routing_domain":"R","queue_names":["a","b"],"reason":"r",` +
		`"duration":"20m","suppress_logging":true}`,
	`{"campaign":null,"queue_names":[],"reason":"","duration":1.5,"expires":null}`,
	`{"reason":"x","expires":"2025-03-01T14:00:00.123456789+01:00","duration":90}`,
	`{"reason":"x","expires":"9999-12-31T23:59:59-01:00"}`,
	`{"reason":"x","duration":-0}`, `{"reason":"x","duration":1e-400}`, `{"reason":"x","duration":9223372036.854775}`,
	`{"re\u0061son":"\ud800"}`, `{"reason":"x"} `, `{"reason":"x"}{}`, `[]`, ``, `{`, `{"reason":"x","reason":"x"}`,
	`{"id":"552016f1-08e7-4e90-9da3-fd5c25acd069"}`, "{\"reason\":\"\xff\"}",
}

// checkRequestError fails unless err is a *RequestError.
func checkRequestError(t *testing.T, err error) {
	t.Helper()
	var re *RequestError
	if !errors.As(err, &re) {
		t.Fatalf("error %v is a %T, not a *RequestError", err, err)
	}
}

// FuzzParseBounceRequest checks that parsing never panics, that errors
// name a field, and that an accepted request survives MarshalJSON.
func FuzzParseBounceRequest(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseBounceRequest(body, t0)
		if err != nil {
			checkRequestError(t, err)
			return
		}
		names := req.Criteria.QueueNames
		if !req.Expires.After(t0) || req.Expires.Year() > 9999 || names != nil && len(names) == 0 {
			t.Fatalf("accepted %+v", req)
		}
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseBounceRequest(b, t0)
		if err != nil || !reflect.DeepEqual(back, req) {
			t.Fatalf("round trip of %s:\n%+v, %v\nwant %+v", b, back, err, req)
		}
	})
}

// FuzzParseSuspendRequest is FuzzParseBounceRequest for suspensions, which
// never carry a routing domain.
func FuzzParseSuspendRequest(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseSuspendRequest(body, t0)
		if err != nil {
			checkRequestError(t, err)
			return
		}
		if !req.Expires.After(t0) || req.Criteria.RoutingDomain != nil {
			t.Fatalf("accepted %+v", req)
		}
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseSuspendRequest(b, t0)
		if err != nil || !reflect.DeepEqual(back, req) {
			t.Fatalf("round trip of %s:\n%+v, %v\nwant %+v", b, back, err, req)
		}
	})
}

// FuzzParseCancelRequest checks that parsing never panics and that an
// accepted id is already canonical.
func FuzzParseCancelRequest(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		id, err := ParseCancelRequest(body)
		if err != nil {
			checkRequestError(t, err)
			return
		}
		if again, err := ParseCancelRequest([]byte(`{"id":"` + id + `"}`)); err != nil || again != id {
			t.Fatalf("id %q is not canonical: %q, %v", id, again, err)
		}
	})
}
