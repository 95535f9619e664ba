package cofferhttp

import (
	"fmt"
	"slices"
)

// Role is what a token or a principal may do, within its environments:
//
//	role     list, get, versions, check   create, update, delete, rollback   reveal value, environ
//	viewer   yes                          -                                  -
//	editor   yes                          yes                                -
//	reader   -                            -                                  yes
//	admin    yes                          yes                                yes
//
// Only an admin sees the Access panel (GET /api/access). Anything else is
// 403 forbidden.
type Role string

// The roles.
const (
	// RoleViewer reads metadata: the page's table, history and health.
	RoleViewer Role = "viewer"
	// RoleEditor reads metadata and changes secrets, but never reads a value.
	RoleEditor Role = "editor"
	// RoleReader is for machines: it reads values and whole environments,
	// and nothing else.
	RoleReader Role = "reader"
	// RoleAdmin may do everything.
	RoleAdmin Role = "admin"
)

// action is a class of operations the role table grants or refuses.
type action int

const (
	actRead   action = iota // metadata: list (and keys), get, versions, check
	actWrite                // create, update, delete, rollback
	actReveal               // a value, an environment's values
	actAdmin                // the Access panel
)

// String names the action in messages and audit events.
func (a action) String() string {
	switch a {
	case actRead:
		return "read"
	case actWrite:
		return "write"
	case actReveal:
		return "reveal"
	default:
		return "admin"
	}
}

// phrase says what the action does, for the 403 message.
func (a action) phrase() string {
	switch a {
	case actRead:
		return "list or read secrets' metadata"
	case actWrite:
		return "create, change or delete secrets"
	case actReveal:
		return "read secret values"
	default:
		return "see who has access"
	}
}

// grants is the role table.
var grants = map[Role][]action{
	RoleViewer: {actRead},
	RoleEditor: {actRead, actWrite},
	RoleReader: {actReveal},
	RoleAdmin:  {actRead, actWrite, actReveal, actAdmin},
}

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool {
	_, ok := grants[r]
	return ok
}

func (r Role) can(a action) bool { return slices.Contains(grants[r], a) }

// Token is a bearer token: API clients send it as "Authorization: Bearer
// SECRET", and people sign in to the page with it. The handler keeps only
// its SHA-256 hash.
type Token struct {
	// Name says who holds the token: the actor of audit events and of
	// CreatedBy and UpdatedBy, and the name the Access panel shows. 1 to 64
	// letters, digits and "._@-"; unique.
	Name string
	// Secret is the token itself: at least MinTokenLen bytes, unique.
	Secret string
	// Role is what the token may do.
	Role Role
	// Environments the token may use, each one served; nil means every
	// served environment.
	Environments []string
}

// Principal is who an authenticated request comes from: a token's holder, or
// whoever Options.Authenticate recognised.
type Principal struct {
	// Name is the actor of audit events and of CreatedBy and UpdatedBy.
	Name string
	// Role is what the principal may do.
	Role Role
	// Environments the principal may use; nil means every served one.
	// Names the handler does not serve are ignored.
	Environments []string
}

// MinTokenLen is the shortest token secret NewHandler accepts.
const MinTokenLen = 16

// maxNameLen bounds token and principal names.
const maxNameLen = 64

// validName reports whether a token name is 1 to 64 letters, digits and
// "._@-": safe in a log line, a header and the page.
func validName(name string) bool {
	if name == "" || len(name) > maxNameLen {
		return false
	}
	for _, c := range name {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '@', c == '-':
		default:
			return false
		}
	}
	return true
}

// checkPrincipal reports what is wrong with a principal, whether from a
// Token or from Options.Authenticate.
func checkPrincipal(p Principal) error {
	if !validName(p.Name) {
		return fmt.Errorf("name %q must be 1 to %d letters, digits and ._@-", p.Name, maxNameLen)
	}
	if !p.Role.Valid() {
		return fmt.Errorf("%q: unknown role %q (viewer, editor, reader or admin)", p.Name, p.Role)
	}
	return nil
}
