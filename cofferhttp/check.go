package cofferhttp

import (
	"context"
	"net/http"
	"strings"

	"github.com/coffer-go/coffer"
)

// checkResponse is the body of GET /api/check: the Health panel.
type checkResponse struct {
	Environments []string      `json:"environments"` // the environments checked and compared
	Findings     []findingJSON `json:"findings"`     // sorted by environment, key, kind
}

// findingJSON is one coffer.Finding. Its message never holds a value.
type findingJSON struct {
	Kind        string `json:"kind"`
	Environment string `json:"environment"`
	Key         string `json:"key,omitempty"`
	Message     string `json:"message"`
}

// check serves GET /api/check: coffer's Check across the environments the
// principal may read (or, with ?env=, that one alone), every kind of
// finding, the default rotation limit. It reads values to compare them
// (shared_value, weak_value) but answers only findings, so it needs the
// metadata permission only, as the role table says.
func (h *handler) check(w http.ResponseWriter, r *http.Request, p *principal) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	var envs []string
	if r.URL.Query().Has(envParam) {
		if _, env, ok := h.allow(w, r, p, actRead); ok {
			envs = []string{env}
		} else {
			return
		}
	} else {
		if !p.Role.can(actRead) {
			h.forbid(w, r, p, actRead, "")
			return
		}
		for _, env := range h.envs {
			if p.allows(env) {
				envs = append(envs, env)
			}
		}
		if len(envs) == 0 { // a principal of Options.Authenticate whose environments are none of the served
			h.forbid(w, r, p, actRead, "")
			return
		}
	}
	body, err := h.sharedRead(r.Context(), p, "check", strings.Join(envs, ","), "", func(ctx context.Context) ([]byte, error) {
		findings, err := h.managers[envs[0]].Check(ctx, &coffer.CheckOptions{Environments: envs})
		if err != nil {
			return nil, err
		}
		out := checkResponse{Environments: envs, Findings: make([]findingJSON, 0, len(findings))}
		for _, f := range findings {
			out.Findings = append(out.Findings, findingJSON{Kind: string(f.Kind), Environment: f.Environment, Key: f.Key, Message: f.Message})
		}
		return marshal(out)
	})
	if err != nil {
		h.writeCofferError(w, r, err)
		return
	}
	writeBody(w, http.StatusOK, jsonType, body)
}
