package luahttp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// MaxBodySize bounds how many bytes of a response body send() reads, so a
// hostile endpoint cannot exhaust memory. A longer body is an error.
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
	ud := L.NewUserData()
	ud.Value = resp
	L.SetMetatable(ud, L.GetTypeMetatable(responseType))
	L.Push(ud)
	return 1
}

// do performs the request and reads the whole body (bounded) within the
// timeout, closing it before returning so that the connection goes back
// to the pool whatever the script does next.
func (r *request) do(parent context.Context) (*response, error) {
	c := r.client
	if c.closed.Load() {
		return nil, errors.New(errClosed)
	}
	if parent == nil {
		parent = context.Background()
	}
	timeout := c.timeout
	if r.timeoutSet {
		timeout = r.timeout
	}
	ctx, cancel := context.WithTimeoutCause(parent, timeout, errRequestTimeout)
	defer cancel()

	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url.String(), body)
	if err != nil {
		return nil, r.failure(ctx, timeout, err)
	}
	req.Header = r.header
	if c.userAgent != "" && req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", c.userAgent)
	}

	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, r.failure(ctx, timeout, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, bodyLimit+1))
	if err != nil {
		return nil, r.failure(ctx, timeout, fmt.Errorf("reading the response body: %w", err))
	}
	if int64(len(data)) > bodyLimit {
		return nil, fmt.Errorf("kumo.http: %s: the response body exceeds the limit of %d bytes", r.target(), bodyLimit)
	}
	if c.verbose {
		slog.Debug("kumo.http request", "method", r.method, "url", r.url.Redacted(),
			"status", resp.StatusCode, "bytes", len(data), "elapsed", time.Since(start), "proto", resp.Proto)
	}
	return &response{
		status:        resp.StatusCode,
		header:        resp.Header,
		contentLength: resp.ContentLength,
		body:          data,
	}, nil
}

func (r *request) target() string {
	return r.method + " " + r.url.Redacted()
}

// failure explains why a request failed: its own timeout, cancellation of
// the LState's context, or a transport error.
func (r *request) failure(ctx context.Context, timeout time.Duration, err error) error {
	switch {
	case context.Cause(ctx) == errRequestTimeout:
		return fmt.Errorf("kumo.http: %s timed out after %v", r.target(), timeout)
	case ctx.Err() != nil:
		return fmt.Errorf("kumo.http: %s was cancelled: %v", r.target(), context.Cause(ctx))
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	return fmt.Errorf("kumo.http: %s failed: %v", r.target(), err)
}
