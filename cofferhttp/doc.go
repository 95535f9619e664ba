// Package cofferhttp serves coffer's Secrets page and its JSON API as an
// http.Handler a team mounts in its own service, as net/http/pprof and
// promhttp hand out theirs: configured by Options, owning nothing global.
//
//	h, err := cofferhttp.NewHandler(m, &cofferhttp.Options{
//		Environments: []string{"development", "staging", "production"},
//		Tokens: []cofferhttp.Token{
//			{Name: "alice", Secret: aliceToken, Role: cofferhttp.RoleEditor},
//			{Name: "api-prod", Secret: apiToken, Role: cofferhttp.RoleReader, Environments: []string{"production"}},
//		},
//		SessionKey: sessionKey, // 32 bytes shared by the replicas
//	})
//	http.Handle("/", h)
//
// examples/server is a runnable main over it, and `coffer serve` runs the
// same handler. The page lists, adds, edits, restores and deletes secrets
// and never shows a value; programs read values through the API with a
// reader's token.
//
// # Roles
//
// Every token (and every principal of Options.Authenticate) has a Role and
// the environments it may use (nil: every served one):
//
//	role     list, get, versions, check   create, update, delete, rollback   reveal value, environ
//	viewer   yes                          -                                  -
//	editor   yes                          yes                                -
//	reader   -                            -                                  yes
//	admin    yes                          yes                                yes
//
// plus the Access panel (GET /api/access) for admins; the keys listing
// (GET /api/keys) is a listing, open to the roles that list. Anything else
// answers 403 forbidden and is audited. Tokens are kept only as SHA-256
// hashes and compared in constant time, each against every configured one;
// a token's Name is the actor of its audit events and of CreatedBy and
// UpdatedBy.
//
// # API
//
// Every endpoint but /api/session and /api/access is scoped to one
// environment by the query parameter env (?env=production); without it,
// the first served environment the token may use. An environment the handler does not serve
// answers 400 invalid_environment.
//
//	GET    /api/secrets                    200 {"environment", "secrets": [secret...]}, sorted by key
//	GET    /api/keys                       200 {"environment", "keys": [key...]}, sorted: the names
//	                                       only (Manager.Keys), for completion and did-you-mean;
//	                                       the cheapest listing, never reading any metadata
//	POST   /api/secrets                    201 secret, Location: /api/secrets/KEY?env=ENV
//	                                       body {"key", "value" | "generate": N, "description"?, "type"?}
//	GET    /api/secrets/{key}              200 secret
//	PATCH  /api/secrets/{key}              200 secret; body {"value" | "generate": N, "description": "..." | null}
//	                                       an empty value keeps the value, a null or absent
//	                                       description keeps the description
//	DELETE /api/secrets/{key}              204
//	GET    /api/secrets/{key}/value        200 {"key", "version", "value"}     (reader, admin)
//	GET    /api/environ?format=env|json    200 a .env file (the default) or {"KEY": "value", ...}
//	GET    /api/check                      200 {"environments", "findings": [{"kind", "environment", "key", "message"}]}
//	                                       coffer's Check across the principal's environments,
//	                                       or only ?env='s
//	GET    /api/access                     200 {"tokens": [{"name", "role", "environments", "all_environments"}],
//	                                       "authenticator", "roles"}                    (admin)
//	POST   /api/session                    201 sign in: body {"token"}; sets the session cookie
//	GET    /api/session                    200 {"actor", "role", "via", "csrf_token"?, "environments",
//	                                       "default_environment", "can", "features"}
//	DELETE /api/session                    204 sign out
//
// A secret is {"key", "description", "type", "project", "environment",
// "created_at", "updated_at", "rotated_at", "created_by", "updated_by",
// "version"}. "generate": N stores coffer.Generate(N), N random bytes
// (16..1024), a value no answer ever holds. Request bodies are
// application/json (else 415), at most Options.MaxBodyBytes (else 413), one
// object with no unknown fields (else 400). Every answer carries
// Cache-Control: no-store.
//
// Only the value and environ endpoints answer values. Each read is audited
// by the Manager ("reveal", "environ") with the principal as actor.
//
// # Errors
//
// Every error is JSON:
//
//	{"code": "key_required", "message": "Secret key is required; Secret value is required",
//	 "errors": [{"field": "key", "code": "key_required", "message": "Secret key is required"},
//	            {"field": "value", "code": "value_required", "message": "Secret value is required"}]}
//
// errors lists every problem of the call (coffer reports them all at once),
// each with the request field it concerns when there is one; code is the
// first problem's code; messages are coffer's, with a capital first letter.
// The codes of coffer's errors are coffer.ErrorCode's, the ones the audit
// log records. Codes and statuses:
//
//	key_required, invalid_key            422  field key
//	value_required, invalid_value        422  field value
//	value_too_large                      413  field value (422 when other problems come with it)
//	description_too_long,
//	invalid_description                  422  field description
//	invalid_type                         422  field type
//	invalid_options                      422  field generate (N out of range)
//	no_changes                           422  "No changes to save"
//	not_found                            404  field key ("did you mean KEY?" when a key differs only in case)
//	already_exists                       409  field key
//	conflict                             409  the record kept changing; try again
//	closed                               503  the Manager is closed
//	invalid_environment                  400  field env
//	invalid_format                       400  field format (environ)
//	invalid_json, unknown_field          400
//	unsupported_media_type               415
//	body_too_large                       413
//	unauthorized                         401  no or wrong bearer token, no or expired session
//	invalid_token                        401  sign-in with a wrong token
//	token_required                       422  sign-in with an empty token
//	too_many_attempts                    429  with Retry-After: the client failed too often
//	forbidden                            403  the role or the token's environments do not allow it
//	csrf_failed                          403  session request without its X-CSRF-Token
//	cross_origin                         403  state-changing request from another origin
//	method_not_allowed                   405  with an Allow header
//	route_not_found                      404
//	internal                             500  details only in Options.Log
//	client_closed_request                499  the client closed the connection first; only the request log sees it
//
// # Authentication and throttling
//
// Options.Authenticate, when set, is asked first about every API request:
// a team's SSO proxy header or verified mTLS certificate becomes a
// Principal without a fork of this package. Otherwise a request with an
// Authorization header is judged by its bearer token alone, and one
// without by its page session.
//
// Failed authentication (a wrong bearer token, a wrong token at sign-in, an
// error of Options.Authenticate) is audited and counted per client address
// (Options.ClientAddress; by default the connection's IP, an IPv6 client's
// /64): after FailedAuthBurst failures, one more attempt is allowed every
// FailedAuthInterval, and meanwhile every request of that address that
// presents a token answers 429 with Retry-After without its token being
// compared, so a guess made while throttled learns nothing. Session cookies
// are signed and cannot be guessed, so they are not throttled; an address
// that has not failed costs nothing, so successful requests are never
// slowed. Behind a reverse proxy set Options.ClientAddress, or every client
// shares the proxy's address.
//
// # Sessions and replicas
//
// Signing in on the page sets an HttpOnly, SameSite=Strict cookie (Secure
// over TLS) holding the session's id, token name, expiry (Options.SessionTTL)
// and a fingerprint of the token's secret, signed with HMAC-SHA256 under a
// key derived from Options.SessionKey. Any handler with the same key
// accepts it: replicas behind a load balancer need no shared session store.
// The token's role and environments are looked up at each request, and a
// token whose secret was replaced ends its sessions. The session's CSRF
// token, sent by the page in X-CSRF-Token on every state-changing request,
// is derived from its id with the same key, so every replica checks it.
//
// Sign-out holds across replicas through the store the replicas share:
// it records the session, under a hash of its id and its expiry, in the
// sign-out list, a project of its own in that store (Options.SignOutProject,
// environment "sessions"). The handler that signs a session out refuses it
// at once; every other replica rereads the list's keys (Manager.Keys: names
// only, audited as "keys" by actor "cofferhttp") at most every
// SignOutRefresh while page sessions come, so the session is refused
// everywhere within that time. Entries of expired sessions are deleted at
// later sign-outs.
//
// # Shared reads
//
// Concurrent identical reads (the listing, the keys, one secret's metadata,
// one value, an environ, a check) by one principal share one store read, and
// its encoded answer — but a request is never answered by a read that began
// before it arrived: it waits for the next read, which starts when the
// current one ends. So each answer reflects every change completed before
// its request came, as if it had read alone, while a burst of identical
// reads (a fleet of programs starting together) costs the store two reads at
// a time. The Manager audits the read it makes; each other request it served
// is audited by the handler ("cofferhttp.shared_read", with the op,
// environment, key and actor), so every request keeps one audit event: give
// the handler (Options.AuditLog) and the Manager the same audit log.
//
// # Security headers
//
// The page and its script, style and icon are public (they hold no data);
// everything under /api is not. Responses carry a Content-Security-Policy
// without 'unsafe-inline' (script and style are separate files),
// X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer,
// X-Frame-Options: DENY with frame-ancestors 'none', and Cache-Control:
// no-store. Every state-changing request must come from the handler's own
// origin (Sec-Fetch-Site and Origin, checked by net/http's
// CrossOriginProtection); for Options.Authenticate's principals, which
// carry no CSRF token, that check is the defence against cross-site
// requests.
package cofferhttp
