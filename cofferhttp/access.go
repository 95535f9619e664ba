package cofferhttp

import "net/http"

// accessResponse is the body of GET /api/access: who can do what. It names
// tokens and never holds one.
type accessResponse struct {
	Tokens []accessEntry `json:"tokens"`
	// Authenticator says whether a team's own authentication
	// (Options.Authenticate) also admits principals, which this list
	// cannot enumerate.
	Authenticator bool       `json:"authenticator"`
	Roles         []roleDesc `json:"roles"`
}

type accessEntry struct {
	Name         string   `json:"name"`
	Role         Role     `json:"role"`
	Environments []string `json:"environments"` // the served ones it may use
	All          bool     `json:"all_environments"`
}

// roleDesc is one row of the role table, for the page's legend.
type roleDesc struct {
	Role Role     `json:"role"`
	Can  []string `json:"can"`
}

// roleTable is the role table in the page's words.
var roleTable = []roleDesc{
	{RoleViewer, []string{"list and read metadata, history and health"}},
	{RoleEditor, []string{"list and read metadata, history and health", "create, edit, delete and restore secrets"}},
	{RoleReader, []string{"read values and whole environments (programs)"}},
	{RoleAdmin, []string{"everything, including values and this panel"}},
}

// access serves GET /api/access, the Access panel: admins only.
func (h *handler) access(w http.ResponseWriter, r *http.Request, p *principal) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	if !p.Role.can(actAdmin) {
		h.forbid(w, r, p, actAdmin, "")
		return
	}
	out := accessResponse{Tokens: make([]accessEntry, 0, len(h.tokens)), Authenticator: h.authFn != nil, Roles: roleTable}
	for _, t := range h.tokens {
		e := accessEntry{Name: t.p.Name, Role: t.p.Role, All: t.p.Environments == nil, Environments: t.p.Environments}
		if e.All {
			e.Environments = h.envs
		}
		out.Tokens = append(out.Tokens, e)
	}
	writeJSON(w, http.StatusOK, out)
}
