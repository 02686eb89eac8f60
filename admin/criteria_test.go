package admin

import (
	"slices"
	"testing"
)

func strp(s string) *string { return &s }

// queues holds a name of every form message.ParseQueueName knows, plus
// near misses.
var queues = []string{
	"C:T@D!R", "C:T@D", "T@D!R", "T@D", "C:@D!R", "C:@D", "D!R", "D", // the eight forms
	"webhook.log_hook", "foo.com:2025", "null", "", // no '@': all domain
	"@D", "C:T:x@D", "T@D@E", "D!R!S", // cut at the first delimiter
	"X:T@D", "C:T@E", "c:t@d", // other values, other case
}

func TestCriteriaMatches(t *testing.T) {
	tests := []struct {
		name string
		c    Criteria
		want []string
	}{
		{"no fields match everything", Criteria{}, queues},
		{"an empty queue_names list is no list", Criteria{QueueNames: []string{}}, queues},
		{"domain", Criteria{Domain: strp("D")},
			[]string{"C:T@D!R", "C:T@D", "T@D!R", "T@D", "C:@D!R", "C:@D", "D!R", "D", "@D", "C:T:x@D", "D!R!S", "X:T@D"}},
		{"campaign: names without one do not match", Criteria{Campaign: strp("C")},
			[]string{"C:T@D!R", "C:T@D", "C:@D!R", "C:@D", "C:T:x@D", "C:T@E"}},
		{"tenant", Criteria{Tenant: strp("T")},
			[]string{"C:T@D!R", "C:T@D", "T@D!R", "T@D", "T@D@E", "X:T@D", "C:T@E"}},
		{"an empty tenant is a value, not a wildcard", Criteria{Tenant: strp("")},
			[]string{"C:@D!R", "C:@D", "@D"}},
		{"routing domain: names without one do not match", Criteria{RoutingDomain: strp("R")},
			[]string{"C:T@D!R", "T@D!R", "C:@D!R", "D!R"}},
		{"campaign, tenant and domain ignore the routing domain", Criteria{Campaign: strp("C"), Tenant: strp("T"), Domain: strp("D")},
			[]string{"C:T@D!R", "C:T@D"}},
		{"all four fields", Criteria{Campaign: strp("C"), Tenant: strp("T"), Domain: strp("D"), RoutingDomain: strp("R")},
			[]string{"C:T@D!R"}},
		{"tenant and domain, any campaign", Criteria{Tenant: strp("T"), Domain: strp("D")},
			[]string{"C:T@D!R", "C:T@D", "T@D!R", "T@D", "X:T@D"}},
		{"campaign and domain, any tenant", Criteria{Campaign: strp("C"), Domain: strp("D")},
			[]string{"C:T@D!R", "C:T@D", "C:@D!R", "C:@D", "C:T:x@D"}},
		{"domain and routing domain", Criteria{Domain: strp("D"), RoutingDomain: strp("R")},
			[]string{"C:T@D!R", "T@D!R", "C:@D!R", "D!R"}},
		{"a tenant holding a colon", Criteria{Campaign: strp("C"), Tenant: strp("T:x")}, []string{"C:T:x@D"}},
		{"a domain holding an @", Criteria{Domain: strp("D@E")}, []string{"T@D@E"}},
		{"a routing domain holding a !", Criteria{RoutingDomain: strp("R!S")}, []string{"D!R!S"}},
		{"a webhook queue by domain", Criteria{Domain: strp("webhook.log_hook")}, []string{"webhook.log_hook"}},
		{"a domain with a port", Criteria{Domain: strp("foo.com:2025")}, []string{"foo.com:2025"}},
		{"the empty domain", Criteria{Domain: strp("")}, []string{""}},
		{"comparison is case sensitive", Criteria{Domain: strp("d")}, []string{"c:t@d"}},
		{"a value no queue has", Criteria{Tenant: strp("nobody")}, nil},
		{"queue_names match exactly", Criteria{QueueNames: []string{"C:T@D", "null", "c:t@d"}},
			[]string{"C:T@D", "null", "c:t@d"}},
		{"queue_names take precedence over the fields",
			Criteria{Campaign: strp("X"), Domain: strp("E"), QueueNames: []string{"D"}}, []string{"D"}},
		{"queue_names are not patterns", Criteria{QueueNames: []string{"T@D"}}, []string{"T@D"}},
		{"queue_names may name the empty queue", Criteria{QueueNames: []string{""}}, []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, q := range queues {
				if tt.c.Matches(q) {
					got = append(got, q)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("matched %q\nwant    %q", got, tt.want)
			}
		})
	}
}

func TestCriteriaMatchesAllAndEqual(t *testing.T) {
	if !(Criteria{}).MatchesAll() || !(Criteria{QueueNames: []string{}}).MatchesAll() {
		t.Error("empty criteria do not match all")
	}
	for _, c := range []Criteria{{Tenant: strp("")}, {RoutingDomain: strp("R")}, {QueueNames: []string{"q"}}} {
		if c.MatchesAll() {
			t.Errorf("%+v.MatchesAll() = true", c)
		}
	}
	tests := []struct {
		a, b  Criteria
		equal bool
	}{
		{Criteria{}, Criteria{}, true},
		{Criteria{}, Criteria{QueueNames: []string{}}, true},
		{Criteria{Domain: strp("D")}, Criteria{Domain: strp("D")}, true},
		{Criteria{Domain: strp("D")}, Criteria{Domain: strp("E")}, false},
		{Criteria{Tenant: strp("")}, Criteria{}, false},
		{Criteria{Campaign: strp("C")}, Criteria{Tenant: strp("C")}, false},
		{Criteria{RoutingDomain: strp("R")}, Criteria{}, false},
		{Criteria{QueueNames: []string{"a", "b", "a"}}, Criteria{QueueNames: []string{"b", "a"}}, true},
		{Criteria{QueueNames: []string{"a"}}, Criteria{QueueNames: []string{"a", "b"}}, false},
		{Criteria{Domain: strp("D"), QueueNames: []string{"a"}}, Criteria{QueueNames: []string{"a"}}, false},
	}
	for i, tt := range tests {
		if got := tt.a.Equal(tt.b); got != tt.equal {
			t.Errorf("case %d: Equal = %v, want %v", i, got, tt.equal)
		}
		if got := tt.b.Equal(tt.a); got != tt.equal {
			t.Errorf("case %d (swapped): Equal = %v, want %v", i, got, tt.equal)
		}
	}
}
