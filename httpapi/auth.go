package httpapi

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Auth decides who may use the log, inject and admin APIs. A request from a trusted host is
// allowed as it is; any other needs a valid bearer token or basic credentials. With nothing
// configured, only loopback clients get in, as with KumoMTA's default trusted_hosts.
type Auth struct {
	// TrustedHosts are addresses and CIDR ranges whose requests need no credentials. Nil means
	// loopback only (127.0.0.0/8 and ::1).
	TrustedHosts []netip.Prefix
	// Tokens are the accepted bearer tokens.
	Tokens []string
	// Basic are the accepted basic-auth users and their passwords.
	Basic map[string]string
	// CheckBasic, when set, is asked about basic credentials the static list does not accept (the
	// policy's http_server_validate_auth_basic event).
	CheckBasic func(user, password string) bool
	// Hint ends the body of a 401 answer: how a client gets access (hookd run names its flags).
	Hint string
}

// RemoteTrusted reports whether some host beyond loopback is trusted.
func (a *Auth) RemoteTrusted() bool {
	if a.TrustedHosts == nil {
		return false
	}
	for _, p := range a.TrustedHosts {
		if !p.Addr().Unmap().IsLoopback() || (p.Addr().Is4() && p.Bits() < 8) {
			return true
		}
	}
	return false
}

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// ParseTrustedHosts reads addresses and CIDR ranges ("10.0.0.0/8", "192.0.2.7", "::1").
func ParseTrustedHosts(hosts []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(hosts))
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if p, err := netip.ParsePrefix(h); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(h)
		if err != nil {
			return nil, fmt.Errorf("trusted host %q: not an address or CIDR range", h)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

func (a *Auth) trusted(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	hosts := a.TrustedHosts
	if hosts == nil {
		hosts = loopback
	}
	for _, p := range hosts {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// credentialsOK checks the request's Authorization header.
func (a *Auth) credentialsOK(r *http.Request) bool {
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		for _, t := range a.Tokens {
			if subtle.ConstantTimeCompare([]byte(token), []byte(t)) == 1 {
				return true
			}
		}
		return false
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	if want, known := a.Basic[user]; known && subtle.ConstantTimeCompare([]byte(pass), []byte(want)) == 1 {
		return true
	}
	return a.CheckBasic != nil && a.CheckBasic(user, pass)
}

// allows reports whether a request may use the protected APIs.
func (a *Auth) allows(r *http.Request) bool { return a.trusted(r) || a.credentialsOK(r) }

// protect wraps a handler of the log, inject or admin APIs.
func (h *Handler) protect(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !h.opts.Auth.allows(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="hookd", charset="UTF-8"`)
			msg := "authentication required: this client is not a trusted host"
			if h.opts.Auth.Hint != "" {
				msg += "; " + h.opts.Auth.Hint
			}
			writeError(w, http.StatusUnauthorized, msg)
			return
		}
		next(w, r)
	}
}
