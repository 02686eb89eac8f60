package luahttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// MaxBodySize bounds how many bytes of a response body send() reads, so a
// hostile endpoint cannot exhaust memory. A longer body is an error. The
// bound applies to the body as the script would see it, that is after
// net/http has undone a gzip Content-Encoding.
const MaxBodySize = 64 << 20

// bodyLimit is MaxBodySize; tests lower it.
var bodyLimit int64 = MaxBodySize

// errRequestTimeout is the cancellation cause of a request's own timeout,
// which tells it apart from the LState's context being cancelled.
var errRequestTimeout = errors.New("request timeout")

func requestSend(L *lua.LState) int {
	r := checkRequest(L)
	r.sent = true
	resp, err := r.do(L.Context())
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	L.Push(responseT.Wrap(L, resp))
	return 1
}

// exchange is one send(): the request, what bounds it, and how far it got.
type exchange struct {
	r       *request
	parent  context.Context // the LState's context
	timeout time.Duration   // the request's own timeout
	start   time.Time
	progress
}

// do performs the request and reads the whole body (bounded) within the
// timeout, closing it before returning so that the connection goes back
// to the pool whatever the script does next. One context bounds the whole
// exchange: connecting, the TLS handshake, sending, every redirect, the
// response headers and the body. When it ends, net/http closes the
// connection, so a failed exchange never leaves one open or pooled.
func (r *request) do(parent context.Context) (*response, error) {
	c := r.client
	if c.closed.Load() {
		return nil, errors.New(errClosed)
	}
	if parent == nil {
		parent = context.Background()
	}
	ex := &exchange{r: r, parent: parent, timeout: c.timeout, start: time.Now()}
	if r.timeoutSet {
		ex.timeout = r.timeout
	}
	ctx, cancel := context.WithTimeoutCause(parent, ex.timeout, errRequestTimeout)
	defer cancel()
	ctx = ex.withProgress(ctx)

	req := r.httpRequest(ctx)
	if c.userAgent != "" && req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", c.userAgent)
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, ex.failure(ctx, err)
	}
	defer resp.Body.Close() // unread data left: net/http closes the connection
	ex.reach(stageReadingBody)
	data, err := ex.readBody(resp)
	if err != nil {
		if !errors.Is(err, errTooLarge) {
			err = ex.failure(ctx, err)
		}
		return nil, err
	}
	if c.verbose {
		slog.Debug("kumo.http request", "method", r.method, "url", r.url.Redacted(),
			"status", resp.StatusCode, "bytes", len(data), "elapsed", time.Since(ex.start),
			"proto", resp.Proto, "redirects", ex.redirects.Load())
	}
	return &response{
		status:        resp.StatusCode,
		header:        resp.Header,
		contentLength: resp.ContentLength,
		body:          data,
	}, nil
}

// httpRequest is what http.NewRequestWithContext makes of the request, without printing its
// already parsed URL and parsing it again.
func (r *request) httpRequest(ctx context.Context) *http.Request {
	u := *r.url // the client keeps the parsed URL for its next request: each gets a copy
	req := &http.Request{Method: r.method, URL: &u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: r.header, Host: strings.TrimSuffix(u.Host, ":")}
	switch {
	case !r.hasBody:
	case r.body == "":
		req.Body, req.GetBody = http.NoBody, noBody
	default:
		body := r.body
		req.ContentLength = int64(len(body))
		req.Body = io.NopCloser(strings.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
	}
	return req.WithContext(ctx)
}

func noBody() (io.ReadCloser, error) { return http.NoBody, nil }

// errTooLarge marks a body over bodyLimit.
var errTooLarge = errors.New("the response body exceeds the limit")

// readBody reads the body, at most bodyLimit bytes of it. A body that
// declares a larger Content-Length fails before a byte of it is read.
func (ex *exchange) readBody(resp *http.Response) ([]byte, error) {
	if resp.ContentLength > bodyLimit {
		return nil, fmt.Errorf("kumo.http: %s: %w of %d bytes (HTTP %d with Content-Length %d; not read)",
			ex.r.target(), errTooLarge, bodyLimit, resp.StatusCode, resp.ContentLength)
	}
	if n := resp.ContentLength; n >= 0 && resp.Body != http.NoBody && ex.r.method != http.MethodHead {
		// net/http holds a body with a Content-Length to exactly that length
		data := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, data); err != nil {
			return nil, err
		}
		return data, nil
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, bodyLimit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > bodyLimit {
		return nil, fmt.Errorf("kumo.http: %s: %w of %d bytes (HTTP %d; stopped reading after %d bytes)",
			ex.r.target(), errTooLarge, bodyLimit, resp.StatusCode, len(data))
	}
	return data, nil
}

func (r *request) target() string {
	return r.method + " " + r.url.Redacted()
}
