package luahttp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// failure explains why an exchange failed, in one line that names the
// request, says what stopped it and how far it got:
//
//	kumo.http: POST https://hooks.example/x timed out after 5s (while reading the response body)
//	kumo.http: POST ... was stopped by the caller's deadline: context deadline exceeded (after 2s, while ...; the request timeout is 1m0s)
//	kumo.http: POST ... was cancelled: context canceled (after 40ms, while ...)
//	kumo.http: POST ... failed: the server reset the connection: read tcp ...: connection reset by peer (while ...)
//
// The request's own timeout and the LState's context are told apart by
// the context's cause, whatever error net/http reported.
func (ex *exchange) failure(ctx context.Context, err error) error {
	target := ex.r.target()
	where := ex.describe()
	elapsed := time.Since(ex.start).Round(time.Millisecond)
	switch {
	case context.Cause(ctx) == errRequestTimeout:
		return fmt.Errorf("kumo.http: %s timed out after %v (%s)", target, ex.timeout, where)
	case errors.Is(ex.parent.Err(), context.DeadlineExceeded) || errors.Is(context.Cause(ex.parent), context.DeadlineExceeded):
		return fmt.Errorf("kumo.http: %s was stopped by the caller's deadline: %v (after %v, %s; the request timeout is %v)",
			target, context.Cause(ex.parent), elapsed, where, ex.timeout)
	case ex.parent.Err() != nil:
		return fmt.Errorf("kumo.http: %s was cancelled: %v (after %v, %s)", target, context.Cause(ex.parent), elapsed, where)
	}
	var loop *redirectLoopError
	if errors.As(err, &loop) {
		return fmt.Errorf("kumo.http: %s failed: %v", target, loop)
	}
	if c := ex.conn.Load(); c != nil && errors.Is(err, net.ErrClosed) {
		if cause := c.firstError(); cause != nil {
			err = cause // what made net/http close the connection
		}
	}
	return fmt.Errorf("kumo.http: %s failed: %s (%s)", target, explain(err), where)
}

// explain puts what the server did in words in front of net/http's error
// text where that text alone is cryptic (a bare "EOF").
func explain(err error) string {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	// Said better below, or by the stage in the message.
	if msg := err.Error(); strings.HasPrefix(msg, "net/http: HTTP/1.x transport connection broken: ") && errors.Unwrap(err) != nil {
		err = errors.Unwrap(err)
	}
	var certErr *tls.CertificateVerificationError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the server closed the connection before the end of the response: " + err.Error()
	case errors.Is(err, io.EOF):
		return "the server closed the connection without answering: " + err.Error()
	case errors.Is(err, syscall.ECONNRESET):
		return "the server reset the connection: " + err.Error()
	case errors.Is(err, syscall.EPIPE):
		return "the server closed or reset the connection: " + err.Error()
	case errors.As(err, &certErr):
		return "the server's TLS certificate was rejected: " + err.Error()
	}
	return err.Error()
}
