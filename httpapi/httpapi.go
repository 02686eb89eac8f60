// Package httpapi is hookd's HTTP API: log records in, messages in, liveness and queue figures out.
// cmd/hookd serves it; an embedder can mount it on its own server.
//
//	POST /api/log/v1            one JSON record, a JSON array of records, or NDJSON
//	POST /api/inject/v1         KumoMTA's injection request (subset) plus hookd's "meta"
//	GET  /api/check-liveness/v1 200 while the node accepts work
//	GET  /metrics               Prometheus text
//	POST|GET|DELETE /api/admin/bounce/v1, /api/admin/suspend/v1   KumoMTA's admin APIs
//	GET  /api/admin/queues/v1   every queue's figures and breaker (a cluster's: each with its owner)
//	GET  /api/admin/cluster/v1  a cluster member's view of the cluster (404 on a single node)
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/hookd/hookd/internal/jsonbody"

	"github.com/hookd/hookd/engine"
	"github.com/hookd/hookd/message"
)

// Options tune the API.
type Options struct {
	// MaxBody is the largest request body accepted (413 beyond). Default 64 MiB.
	MaxBody int64
	// MaxRecords is the most records one /api/log/v1 request may carry. Default 100,000.
	MaxRecords int
	// AcceptTimeout bounds how long a request waits for room in the pipeline before it is refused
	// with 503 and Retry-After. Default 10 s.
	AcceptTimeout time.Duration
	// Logger receives request errors. Default slog.Default().
	Logger *slog.Logger
	// AdminToken, when set, is the bearer token the admin endpoints require (from every client,
	// trusted hosts included).
	AdminToken string
	// MaxRecordBytes is the largest single record accepted (413 beyond). Default 1 MiB.
	MaxRecordBytes int
	// Auth says who may use the log, inject and admin APIs (by default: loopback clients only).
	Auth Auth
}

// Handler serves the API for one engine.
type Handler struct {
	eng  *engine.Engine
	opts Options
	mux  *http.ServeMux
}

// New returns the API of eng.
func New(eng *engine.Engine, opts Options) *Handler {
	if opts.MaxBody <= 0 {
		opts.MaxBody = 64 << 20
	}
	if opts.MaxRecords <= 0 {
		opts.MaxRecords = 100_000
	}
	if opts.AcceptTimeout <= 0 {
		opts.AcceptTimeout = 10 * time.Second
	}
	if opts.MaxRecordBytes <= 0 {
		opts.MaxRecordBytes = 1 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	h := &Handler{eng: eng, opts: opts, mux: http.NewServeMux()}
	h.mux.HandleFunc("POST /api/log/v1", h.protect(h.log))
	h.mux.HandleFunc("POST /api/inject/v1", h.protect(h.inject))
	h.mux.HandleFunc("GET /api/check-liveness/v1", h.liveness)
	h.mux.Handle("GET /metrics", eng.MetricsHandler())
	h.adminRoutes()
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", h.opts.MaxBody))
		} else {
			writeError(w, http.StatusBadRequest, "reading the request body: "+err.Error())
		}
		return nil, false
	}
	return body, true
}

func (h *Handler) log(w http.ResponseWriter, r *http.Request) {
	body, ok := h.readBody(w, r)
	if !ok {
		return
	}
	recs, err := decodeRecords(body, r.Header.Get("Content-Type"), h.opts.MaxRecords, h.opts.MaxRecordBytes)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, errRecordTooBig) {
			status = http.StatusRequestEntityTooLarge
		}
		writeError(w, status, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.AcceptTimeout)
	defer cancel()
	if err := h.eng.Log(ctx, recs...); err != nil {
		h.refuse(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"accepted": len(recs)})
}

func (h *Handler) inject(w http.ResponseWriter, r *http.Request) {
	body, ok := h.readBody(w, r)
	if !ok {
		return
	}
	req, err := engine.ParseInjectRequest(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.AcceptTimeout)
	defer cancel()
	res, err := h.eng.Inject(ctx, req, peerIP(r))
	if err != nil {
		h.refuse(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// refuse answers a request the engine could not take: 503 with Retry-After, whether it is busy or
// stopping (the wait for room timed out) or could not store the work (a full disk).
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, err error) {
	h.opts.Logger.Warn("request refused", "path", r.URL.Path, "error", err)
	retry := 5
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, engine.ErrStopped) ||
		errors.Is(err, engine.ErrNotStarted) || errors.Is(err, context.Canceled) {
		retry = max(1, int(h.opts.AcceptTimeout/time.Second))
	}
	w.Header().Set("Retry-After", strconv.Itoa(retry))
	writeError(w, http.StatusServiceUnavailable, err.Error())
}

// liveness answers 200 while the engine accepts work, and 503 before Start and once Stop began.
func (h *Handler) liveness(w http.ResponseWriter, r *http.Request) {
	if err := h.eng.Accepting(); err != nil {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(h.opts.AcceptTimeout/time.Second))))
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (h *Handler) queues(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	writeJSON(w, http.StatusOK, h.eng.ClusterQueues(ctx, true))
}

// DecodeRecords parses a /api/log/v1 body: one JSON object, a JSON array of objects, or NDJSON (with
// Content-Type application/x-ndjson, or several values one after another). Errors name the record
// index and the field; a body with any bad record yields no records at all.
func DecodeRecords(body []byte, contentType string, max int) ([]*message.LogRecord, error) {
	return decodeRecords(body, contentType, max, 0)
}

// errRecordTooBig marks a record over the per-record size limit (413).
var errRecordTooBig = errors.New("over the per-record size limit")

func decodeRecords(body []byte, contentType string, max, maxRecord int) ([]*message.LogRecord, error) {
	raws, err := jsonbody.Split(body, jsonbody.IsNDJSON(contentType))
	if err != nil {
		return nil, err
	}
	if len(raws) == 0 {
		return nil, errors.New("no records in the request body")
	}
	if max > 0 && len(raws) > max {
		return nil, fmt.Errorf("%d records in one request, the limit is %d", len(raws), max)
	}
	recs := make([]*message.LogRecord, len(raws))
	for i, raw := range raws {
		if maxRecord > 0 && len(raw) > maxRecord {
			return nil, fmt.Errorf("record %d: %d bytes, %w of %d bytes", i, len(raw), errRecordTooBig, maxRecord)
		}
		rec, err := message.DecodeRecord(raw)
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		recs[i] = rec
	}
	return recs, nil
}

func peerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// writeJSON answers with v as JSON and a newline. The JSON is message.MarshalJSON's, so its
// strings are written as in every JSON text hookd writes (no HTML escaping, U+2028 raw).
func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := message.MarshalJSON(v)
	if err != nil {
		code = http.StatusInternalServerError
		body = append(message.AppendJSONString([]byte(`{"error":`), "encoding the response: "+err.Error()), '}')
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
