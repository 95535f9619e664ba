// Command server is coffer's reference HTTP wrapper: a JSON API over a
// Manager and the Secrets page (add, list, edit, delete; values never
// shown), served on 127.0.0.1. Teams wrapping coffer in their own service
// can start from NewHandler.
//
//	go run ./examples/server
//
// It prints its address and a generated access token. Open the address and
// sign in with the token, or call the API with "Authorization: Bearer TOKEN".
//
// # Configuration
//
// Flags override the environment:
//
//	-addr          COFFER_SERVER_ADDR   listen address (default 127.0.0.1:8080)
//	-store         COFFER_STORE_URL     collection URL (default mem://server: in memory)
//	-project       COFFER_PROJECT       project (default "default")
//	-environments  COFFER_ENVIRONMENTS  comma-separated; the first is the default
//	                                    (default development,staging,production)
//	               COFFER_KEEPER_URL    keeper URL (default: a random key for this run)
//	               COFFER_SERVER_TOKEN  access token, at least 16 bytes
//	                                    (default: generated and printed at start)
//
// The keeper URL and the token come only from the environment, because
// flags show in process listings. Neither, nor the store URL, is ever
// printed or logged; the token is printed only when the server generated it.
// Audit events (coffer's Options.AuditLog) and one line per request go to
// stderr as JSON.
//
// # API
//
// Every /api/secrets request is scoped to one environment by the query
// parameter env (?env=production); without it, the first environment. An
// environment the server does not serve answers 400 invalid_environment.
//
//	GET    /api/secrets               200 {"environment": ..., "secrets": [secret...]}, sorted by key
//	POST   /api/secrets               201 secret, Location: /api/secrets/KEY?env=ENV
//	                                  body {"key", "value", "description"?, "type"?}
//	GET    /api/secrets/{key}         200 secret
//	PATCH  /api/secrets/{key}         200 secret; body {"value": "...", "description": "..." | null}
//	                                  an empty value keeps the value, a null or absent
//	                                  description keeps the description
//	DELETE /api/secrets/{key}         204
//	POST   /api/session               201 sign in: body {"token"}; sets the session cookie
//	GET    /api/session               200 {"actor", "csrf_token"?, "environments", "default_environment"}
//	DELETE /api/session               204 sign out
//
// A secret is {"key", "description", "type", "project", "environment",
// "created_at", "updated_at", "rotated_at", "created_by", "updated_by",
// "version"}. No endpoint returns a value: revealing is not part of this API.
// Request bodies are application/json (else 415), at most MaxBodyBytes
// (else 413), one object with no unknown fields (else 400).
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
// Codes and statuses:
//
//	key_required, invalid_key            422  field key
//	value_required, invalid_value        422  field value
//	value_too_large                      413  field value (422 when other problems come with it)
//	description_too_long,
//	invalid_description                  422  field description
//	invalid_type                         422  field type
//	no_changes                           422  "No changes to save"
//	not_found                            404  field key ("did you mean KEY?" when a key differs only in case)
//	already_exists                       409  field key
//	conflict                             409  the record kept changing; try again
//	closed                               503  the Manager is closed
//	invalid_environment                  400  field env
//	invalid_json, unknown_field          400
//	unsupported_media_type               415
//	body_too_large                       413
//	unauthorized                         401  no or wrong bearer token, no or expired session
//	invalid_token                        401  sign-in with a wrong token
//	csrf_failed                          403  session request without its X-CSRF-Token
//	cross_origin                         403  state-changing request from another origin
//	method_not_allowed                   405  with an Allow header
//	route_not_found                      404
//	internal                             500  details only in the server log
//
// # Security
//
// API requests need the access token, as a bearer token, or a session from
// signing in on the page; tokens are compared in constant time. The page and
// its script, style and icon are public (they hold no data); everything
// under /api is not. The session cookie is HttpOnly and SameSite=Strict
// (Secure over TLS) and lasts 12 hours. The page's state-changing requests
// carry the session's CSRF token in X-CSRF-Token, and every state-changing
// request must come from this origin (Sec-Fetch-Site and Origin, checked by
// net/http's CrossOriginProtection). Responses carry a Content-Security-Policy
// without 'unsafe-inline' (script and style are separate files),
// X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer,
// X-Frame-Options: DENY with frame-ancestors 'none', and Cache-Control:
// no-store. Audit events carry the signed-in actor (coffer.WithActor). No
// value appears in any response, header or log line.
package main
