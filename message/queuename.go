package message

import "strings"

// QueueName holds the parts of a scheduled queue name. A nil pointer means
// the part is absent, which is different from present and empty: "C:@D" has
// campaign "C" and an empty tenant.
type QueueName struct {
	Campaign      *string
	Tenant        *string
	RoutingDomain *string
	Domain        string
}

// FormatQueueName renders q in KumoMTA's queue name syntax. The eight forms
// are C:T@D!R, C:T@D, T@D!R, T@D, C:@D!R, C:@D, D!R and D, where "!R"
// appears only when RoutingDomain is set. A campaign without a tenant is
// written "C:@D", exactly like a campaign with an empty tenant.
func FormatQueueName(q QueueName) string {
	var b strings.Builder
	switch {
	case q.Campaign != nil:
		b.WriteString(*q.Campaign)
		b.WriteByte(':')
		if q.Tenant != nil {
			b.WriteString(*q.Tenant)
		}
		b.WriteByte('@')
	case q.Tenant != nil:
		b.WriteString(*q.Tenant)
		b.WriteByte('@')
	}
	b.WriteString(q.Domain)
	if q.RoutingDomain != nil {
		b.WriteByte('!')
		b.WriteString(*q.RoutingDomain)
	}
	return b.String()
}

// ParseQueueName splits a queue name into its parts; it never fails.
//
// The name is split at its first '@'. The left side is split at its first
// ':' into campaign and tenant (the tenant may be empty, as in "C:@D"); with
// no ':' the whole left side is the tenant. The right side is split at its
// first '!' into domain and routing domain. A name without '@' is all
// domain[!routing], so "webhook.log_hook", "foo.com:2025" and "null" are
// plain domains.
//
// FormatQueueName(ParseQueueName(s)) == s holds for every string s: each
// part is cut at the first occurrence of its delimiter, a part is present
// exactly when its delimiter is, and formatting writes the same delimiters
// back. The reverse, ParseQueueName(FormatQueueName(q)) == q, holds only
// when the parts contain no delimiters that would be cut first; see
// RoundTrips.
func ParseQueueName(s string) QueueName {
	prefix, rest, hasAt := strings.Cut(s, "@")
	if !hasAt {
		domain, routing := cutRouting(s)
		return QueueName{Domain: domain, RoutingDomain: routing}
	}
	domain, routing := cutRouting(rest)
	q := QueueName{Domain: domain, RoutingDomain: routing}
	if campaign, tenant, ok := strings.Cut(prefix, ":"); ok {
		q.Campaign, q.Tenant = &campaign, &tenant
	} else {
		q.Tenant = &prefix
	}
	return q
}

func cutRouting(s string) (string, *string) {
	domain, routing, ok := strings.Cut(s, "!")
	if !ok {
		return s, nil
	}
	return domain, &routing
}

// RoundTrips reports whether ParseQueueName(FormatQueueName(q)) gives back
// q. That needs a campaign without ':' or '@'; a tenant without '@' (and,
// when there is no campaign, without ':'); a domain without '!'; when there
// is neither campaign nor tenant, a domain and routing domain without '@';
// and a tenant that is present whenever the campaign is, because "C:@D"
// always parses with an empty tenant.
func (q QueueName) RoundTrips() bool {
	if q.Campaign != nil {
		if q.Tenant == nil || strings.ContainsAny(*q.Campaign, ":@") {
			return false
		}
	}
	if q.Tenant != nil {
		if strings.Contains(*q.Tenant, "@") {
			return false
		}
		if q.Campaign == nil && strings.Contains(*q.Tenant, ":") {
			return false
		}
	}
	if strings.Contains(q.Domain, "!") {
		return false
	}
	if q.Campaign == nil && q.Tenant == nil {
		// Without a prefix, any '@' would be taken as the tenant separator.
		if strings.Contains(q.Domain, "@") || q.RoutingDomain != nil && strings.Contains(*q.RoutingDomain, "@") {
			return false
		}
	}
	return true
}

// String returns FormatQueueName(q).
func (q QueueName) String() string { return FormatQueueName(q) }
