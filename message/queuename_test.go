package message

import (
	"fmt"
	"testing"
)

// describeQueue renders a QueueName with nil parts shown as <nil>.
func describeQueue(q QueueName) string {
	part := func(p *string) string {
		if p == nil {
			return "<nil>"
		}
		return fmt.Sprintf("%q", *p)
	}
	return fmt.Sprintf("{campaign %s tenant %s domain %q routing %s}",
		part(q.Campaign), part(q.Tenant), q.Domain, part(q.RoutingDomain))
}

func TestQueueNameForms(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		parts QueueName
	}{
		{"campaign, tenant, domain and routing domain", "C:T@D!R",
			QueueName{Campaign: strp("C"), Tenant: strp("T"), Domain: "D", RoutingDomain: strp("R")}},
		{"campaign, tenant and domain", "C:T@D", QueueName{Campaign: strp("C"), Tenant: strp("T"), Domain: "D"}},
		{"tenant, domain and routing domain", "T@D!R", QueueName{Tenant: strp("T"), Domain: "D", RoutingDomain: strp("R")}},
		{"tenant and domain", "T@D", QueueName{Tenant: strp("T"), Domain: "D"}},
		{"campaign, empty tenant, domain and routing domain", "C:@D!R",
			QueueName{Campaign: strp("C"), Tenant: strp(""), Domain: "D", RoutingDomain: strp("R")}},
		{"campaign, empty tenant and domain", "C:@D", QueueName{Campaign: strp("C"), Tenant: strp(""), Domain: "D"}},
		{"domain and routing domain", "D!R", QueueName{Domain: "D", RoutingDomain: strp("R")}},
		{"domain alone", "D", QueueName{Domain: "D"}},
		{"a webhook queue as a plain domain", "webhook.log_hook", QueueName{Domain: "webhook.log_hook"}},
		{"a domain with a port as a plain domain", "foo.com:2025", QueueName{Domain: "foo.com:2025"}},
		{"the null queue as a plain domain", "null", QueueName{Domain: "null"}},
		{"a routing domain with a port", "tenant@foo.com!routing.com:2025",
			QueueName{Tenant: strp("tenant"), Domain: "foo.com", RoutingDomain: strp("routing.com:2025")}},
		{"the empty name as an empty domain", "", QueueName{}},
		{"an empty tenant", "@D", QueueName{Tenant: strp(""), Domain: "D"}},
		{"a tenant with colons after the campaign", "C:T:x@D", QueueName{Campaign: strp("C"), Tenant: strp("T:x"), Domain: "D"}},
		{"a domain holding a second @", "T@D@E", QueueName{Tenant: strp("T"), Domain: "D@E"}},
		{"a routing domain holding a second !", "D!R!S", QueueName{Domain: "D", RoutingDomain: strp("R!S")}},
	}
	for _, tc := range tests {
		t.Run("parses "+tc.name, func(t *testing.T) {
			if got := ParseQueueName(tc.text); describeQueue(got) != describeQueue(tc.parts) {
				t.Errorf("ParseQueueName(%q) = %s, want %s", tc.text, describeQueue(got), describeQueue(tc.parts))
			}
		})
		t.Run("formats "+tc.name, func(t *testing.T) {
			if got := FormatQueueName(tc.parts); got != tc.text {
				t.Errorf("FormatQueueName(%s) = %q, want %q", describeQueue(tc.parts), got, tc.text)
			}
			if tc.parts.String() != tc.text {
				t.Errorf("String() = %q", tc.parts.String())
			}
		})
	}
}

func TestQueueNameCampaignWithoutTenant(t *testing.T) {
	q := QueueName{Campaign: strp("C"), Domain: "D"}
	t.Run("formats like an empty tenant", func(t *testing.T) {
		if got := FormatQueueName(q); got != "C:@D" {
			t.Errorf("got %q, want C:@D", got)
		}
	})
	t.Run("parses back with an empty tenant, so it does not round-trip", func(t *testing.T) {
		back := ParseQueueName(FormatQueueName(q))
		if back.Tenant == nil || *back.Tenant != "" {
			t.Errorf("tenant = %s", describeQueue(back))
		}
		if q.RoundTrips() {
			t.Error("RoundTrips() = true for a campaign without tenant")
		}
	})
}

func TestQueueNameRoundTrips(t *testing.T) {
	tests := []struct {
		name string
		q    QueueName
		want bool
	}{
		{"plain parts", QueueName{Campaign: strp("c"), Tenant: strp("t"), Domain: "d", RoutingDomain: strp("r")}, true},
		{"a routing domain with every delimiter after a tenant",
			QueueName{Tenant: strp("t"), Domain: "d", RoutingDomain: strp("a:b@c!d")}, true},
		{"a tenant with a colon after a campaign", QueueName{Campaign: strp("c"), Tenant: strp("a:b"), Domain: "d"}, true},
		{"a domain with @ after a tenant", QueueName{Tenant: strp("t"), Domain: "a@b"}, true},
		{"a campaign with a colon", QueueName{Campaign: strp("a:b"), Tenant: strp("t"), Domain: "d"}, false},
		{"a campaign with an @", QueueName{Campaign: strp("a@b"), Tenant: strp("t"), Domain: "d"}, false},
		{"a tenant with an @", QueueName{Tenant: strp("a@b"), Domain: "d"}, false},
		{"a lone tenant with a colon", QueueName{Tenant: strp("a:b"), Domain: "d"}, false},
		{"a domain with a !", QueueName{Domain: "a!b"}, false},
		{"a lone domain with an @", QueueName{Domain: "a@b"}, false},
		{"a routing domain with an @ and no prefix", QueueName{Domain: "d", RoutingDomain: strp("a@b")}, false},
		{"a campaign without a tenant", QueueName{Campaign: strp("c"), Domain: "d"}, false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s round-trips: %v", tc.name, tc.want), func(t *testing.T) {
			if got := tc.q.RoundTrips(); got != tc.want {
				t.Errorf("RoundTrips() = %v, want %v", got, tc.want)
			}
			back := ParseQueueName(FormatQueueName(tc.q))
			if same := describeQueue(back) == describeQueue(tc.q); same != tc.want {
				t.Errorf("parse(format(q)) = %s, same = %v, want %v", describeQueue(back), same, tc.want)
			}
		})
	}
}

// FuzzQueueName checks the exact round-trip properties:
//
//  1. FormatQueueName(ParseQueueName(s)) == s for every string s, whatever
//     number of '@', ':' or '!' it contains.
//  2. ParseQueueName(FormatQueueName(q)) == q exactly when q.RoundTrips().
//
// The fuzzer also builds q from its three strings to test property 2.
func FuzzQueueName(f *testing.F) {
	for _, s := range []string{
		"C:T@D!R", "C:T@D", "T@D!R", "T@D", "C:@D!R", "C:@D", "D!R", "D", "",
		"webhook.log_hook", "foo.com:2025", "null", "a@b@c", ":@!", "@", "!", ":", "x:y:z@w!v!u",
	} {
		f.Add(s, "c", "t", uint8(0))
	}
	f.Add("d", "a:b", "x@y", uint8(15))
	f.Fuzz(func(t *testing.T, s, a, b string, mask uint8) {
		q := ParseQueueName(s)
		if got := FormatQueueName(q); got != s {
			t.Fatalf("FormatQueueName(ParseQueueName(%q)) = %q", s, got)
		}
		// Build a QueueName from s, a and b as the mask selects.
		built := QueueName{Domain: s}
		if mask&1 != 0 {
			built.Campaign = &a
		}
		if mask&2 != 0 {
			built.Tenant = &b
		}
		if mask&4 != 0 {
			built.RoutingDomain = &a
			if mask&8 != 0 {
				built.RoutingDomain = &b
			}
		}
		back := ParseQueueName(FormatQueueName(built))
		if same := describeQueue(back) == describeQueue(built); same != built.RoundTrips() {
			t.Fatalf("q = %s: parse(format(q)) = %s; same = %v but RoundTrips() = %v",
				describeQueue(built), describeQueue(back), same, built.RoundTrips())
		}
	})
}
