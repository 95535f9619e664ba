package cofferhttp

import (
	"context"
	"net/http"
	"time"
)

// versionJSON is one coffer.Version: metadata only.
type versionJSON struct {
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	Current   bool      `json:"current"`
}

// versionsResponse is the body of GET /api/secrets/{key}/versions.
type versionsResponse struct {
	Versions []versionJSON `json:"versions"` // newest first
}

// rollbackRequest is the body of POST /api/secrets/{key}/rollback.
type rollbackRequest struct {
	Version int `json:"version"`
}

// versions serves GET /api/secrets/{key}/versions: the History dialog.
func (h *handler) versions(w http.ResponseWriter, r *http.Request, p *principal) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	m, env, ok := h.allow(w, r, p, actRead)
	if !ok {
		return
	}
	key := r.PathValue("key")
	body, err := h.sharedRead(r.Context(), p, "versions", env, key, func(ctx context.Context) ([]byte, error) {
		vs, err := m.Versions(ctx, key)
		if err != nil {
			return nil, err
		}
		out := versionsResponse{Versions: make([]versionJSON, 0, len(vs))}
		for _, v := range vs {
			out.Versions = append(out.Versions, versionJSON{Version: v.Version, CreatedAt: v.CreatedAt, CreatedBy: v.CreatedBy, Current: v.Current})
		}
		return marshal(out)
	})
	if err != nil {
		h.writeCofferError(w, r, err)
		return
	}
	writeBody(w, http.StatusOK, jsonType, body)
}

// rollback serves POST /api/secrets/{key}/rollback: Restore in the History
// dialog. The version's value becomes a new current version; the answer is
// the secret's metadata.
func (h *handler) rollback(w http.ResponseWriter, r *http.Request, p *principal) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, "POST")
		return
	}
	m, _, ok := h.allow(w, r, p, actWrite)
	if !ok {
		return
	}
	var req rollbackRequest
	if !h.decodeBody(w, r, &req) {
		return
	}
	s, err := m.Rollback(r.Context(), r.PathValue("key"), req.Version)
	if err != nil {
		h.writeCofferError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toJSON(s))
}
