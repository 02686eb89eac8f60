package httpapi

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/hookd/hookd/admin"
)

// requireToken wraps an admin handler: with Options.AdminToken set, the request must carry
// "Authorization: Bearer <token>"; without it, the admin APIs are protected like the log API.
func (h *Handler) requireToken(next http.HandlerFunc) http.HandlerFunc {
	protected := h.protect(next)
	return func(w http.ResponseWriter, r *http.Request) {
		if h.opts.AdminToken == "" {
			protected(w, r)
			return
		}
		{
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(h.opts.AdminToken)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="hookd admin"`)
				writeError(w, http.StatusUnauthorized, "this endpoint needs the admin bearer token")
				return
			}
		}
		next(w, r)
	}
}

func (h *Handler) adminRoutes() {
	h.mux.HandleFunc("POST /api/admin/bounce/v1", h.requireToken(h.bounce))
	h.mux.HandleFunc("GET /api/admin/bounce/v1", h.requireToken(h.list(admin.Bounce)))
	h.mux.HandleFunc("DELETE /api/admin/bounce/v1", h.requireToken(h.cancel(admin.Bounce)))
	h.mux.HandleFunc("POST /api/admin/suspend/v1", h.requireToken(h.suspend))
	h.mux.HandleFunc("GET /api/admin/suspend/v1", h.requireToken(h.list(admin.Suspend)))
	h.mux.HandleFunc("DELETE /api/admin/suspend/v1", h.requireToken(h.cancel(admin.Suspend)))
	h.mux.HandleFunc("GET /api/admin/queues/v1", h.requireToken(h.queues))
	h.mux.HandleFunc("GET /api/admin/cluster/v1", h.requireToken(h.cluster))
}

// cluster answers with this member's view of the cluster: its ID, epoch and view, each member
// with its state and figures, and the peers whose release of the view is pending. A node that is
// not a cluster member answers 404 with a one-line JSON error.
func (h *Handler) cluster(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	st, ok := h.eng.ClusterStatus(ctx)
	if !ok {
		writeError(w, http.StatusNotFound, "this node is not a cluster member (hookd run --cluster-listen)")
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (h *Handler) bounce(w http.ResponseWriter, r *http.Request) {
	body, ok := h.readBody(w, r)
	if !ok {
		return
	}
	req, err := admin.ParseBounceRequest(body, h.eng.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.Criteria.MatchesAll() {
		h.opts.Logger.Warn("an administrator bounced every queue", "reason", req.Reason)
	}
	e, err := h.eng.AdminBounce(req)
	if err != nil {
		h.refuse(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, admin.NewBounceResponse(e))
}

func (h *Handler) suspend(w http.ResponseWriter, r *http.Request) {
	body, ok := h.readBody(w, r)
	if !ok {
		return
	}
	req, err := admin.ParseSuspendRequest(body, h.eng.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	e, err := h.eng.AdminSuspend(req)
	if err != nil {
		h.refuse(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, admin.SuspendResponse{ID: e.ID})
}

func (h *Handler) list(kind admin.Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		entries, err := h.eng.AdminList(kind)
		if err != nil {
			h.refuse(w, r, err)
			return
		}
		if kind == admin.Bounce {
			writeJSON(w, http.StatusOK, admin.BounceList(entries, h.eng.Now()))
		} else {
			writeJSON(w, http.StatusOK, admin.SuspendList(entries, h.eng.Now()))
		}
	}
}

func (h *Handler) cancel(kind admin.Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := h.readBody(w, r)
		if !ok {
			return
		}
		id, err := admin.ParseCancelRequest(body)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		removed, err := h.eng.AdminCancel(id)
		if err != nil {
			h.refuse(w, r, err)
			return
		}
		status, text := admin.CancelResponse(kind, id, removed)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(text))
	}
}
