package luahttp

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// maxRedirects is how many redirects one send() follows, as in reqwest
// (net/http's default policy follows one fewer: it counts requests).
const maxRedirects = 10

// sensitiveHeaders are the headers reqwest drops when a redirect goes to
// another host or port.
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
// hookd drops them for any hop whose scheme, host or port differs from the
// URL the script asked for: reqwest does so for another host or port
// (which covers a change of scheme on default ports), hookd for another
// scheme on the same port too.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects { // via holds the original request too
		return &redirectLoopError{hops: maxRedirects, last: req.URL}
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
