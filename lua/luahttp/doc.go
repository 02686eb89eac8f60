// Package luahttp implements the `kumo.http` Lua module for hookd policy
// scripts: an HTTP client that webhook constructors use to deliver batches
// of log records.
//
//	logger --> hook (Lua) --> queue --> conn (Lua session) --> HTTP endpoint
//	                                      |
//	                  kumo.http.build_client{...}        (one per session)
//	                    client:post(url)                  -> Request
//	                      :header(k, v):body(s):send()    -> Response
//	                    client:close()
//	                                      |
//	     shared h1Transport: plain HTTP/1.1 on the caller's goroutine (keep-alive pool)
//	       └─ shared *http.Transport (per TLS setting): https, proxies, 100-continue
//
// Behaviour follows KumoMTA's kumo.http:
//
//   - HTTP error statuses (4xx, 5xx) are ordinary responses; only transport
//     failures, timeouts and cancellation raise Lua errors, and those name
//     the method, the URL (password redacted), the cause and how far the
//     exchange got ("timed out after 5s (while reading the response
//     body)", "was stopped by the caller's deadline: ...", "failed: the
//     server reset the connection: ... (while sending the request)").
//   - Redirects are followed as reqwest does: up to 10, to any host and
//     between http and https (see checkRedirect). Credentials only go to
//     the scheme, host and port the script named.
//   - A request is single use: after send() every method raises
//     "broken request builder". A response body can be read once with
//     text() or bytes(); afterwards text, bytes, headers and content_length
//     raise "broken response wrapper".
//   - After client:close() every request raises "client was closed".
//   - aws_sign_v4 is not supported and raises an error saying so.
//
// hookd choices where KumoMTA leaves room:
//
//   - The response body is read in full (at most [MaxBodySize] bytes) inside
//     send(), within the request timeout, and closed there, so connections
//     always go back to the pool even if the script never reads the body.
//     A body that declares a larger Content-Length fails before it is
//     read; the status line and headers, 1xx responses included, are
//     bounded to 1 MiB.
//   - One timeout covers the whole exchange: connecting, the TLS handshake,
//     sending, every redirect, the headers and the body. A failed exchange
//     closes its connection, and a connection still being dialled or
//     handshaken for it is abandoned with it; only healthy connections
//     are pooled.
//   - response:headers() returns a plain table (gopher-lua is Lua 5.1 and
//     has no __pairs) whose keys are lower-case header names, as in
//     KumoMTA. Repeated headers are joined with ", ". Its metatable makes
//     lookups case-insensitive, so headers["Content-Type"] also works.
//   - text() replaces invalid UTF-8 with U+FFFD and does not honour other
//     charsets; bytes() returns the raw body.
//
// The caller's contract:
//
//  1. Call [Open] once per LState after creating the `kumo` table.
//  2. Optionally set a context on the LState (L.SetContext); send() gives
//     up when it is cancelled or its deadline passes, whichever of that
//     and the request timeout comes first, and says which it was.
//  3. Clients, requests and responses belong to the LState that made them
//     and must only be used from the goroutine running it. The transports
//     underneath are shared by every LState in the process.
package luahttp
