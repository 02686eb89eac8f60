package luahttp

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// maxRedirects is how many redirects one send() follows, as in reqwest
// (and net/http's default).
const maxRedirects = 10

// sensitiveHeaders are the headers reqwest drops when a redirect leaves
// the origin of the URL the script asked for.
var sensitiveHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "Cookie2", "Www-Authenticate"}

// redirectLoopError is how a request that kept being redirected fails.
type redirectLoopError struct {
	hops int
	last *url.URL
}

func (e *redirectLoopError) Error() string {
	return fmt.Sprintf("stopped after %d redirects (a redirect loop?); the last one pointed to %s", e.hops, e.last.Redacted())
}

// checkRedirect is the redirect policy of every client. Like reqwest's
// default it follows up to maxRedirects redirects to any host, and between
// http and https in both directions; net/http turns a POST into a GET
// without a body on 301, 302 and 303 and resends it on 307 and 308. All the
// hops share the one request timeout.
//
// net/http already drops credentials when a redirect goes to another host
// name, but keeps them for another port or scheme on the same host, so a
// redirect from https to http would send a bearer token in clear text.
// Like reqwest, hookd drops them whenever the scheme, host or port differs
// from the original URL's.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return &redirectLoopError{hops: len(via), last: req.URL}
	}
	if p := progressFrom(req.Context()); p != nil {
		p.redirected()
	}
	if origin(req.URL) != origin(via[0].URL) {
		for _, h := range sensitiveHeaders {
			req.Header.Del(h)
		}
	}
	return nil
}

// origin is scheme://host:port with the scheme's default port filled in.
func origin(u *url.URL) string {
	port := u.Port()
	switch {
	case port != "":
	case u.Scheme == "https":
		port = "443"
	default:
		port = "80"
	}
	return strings.ToLower(u.Scheme + "://" + net.JoinHostPort(u.Hostname(), port))
}
