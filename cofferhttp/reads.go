package cofferhttp

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
)

// The machine reads: the only endpoints whose answers hold values. Both
// need a role that may reveal (reader or admin); every read is audited by
// the Manager ("reveal", "environ") with the principal as actor; answers
// carry Cache-Control: no-store, like every answer of the handler.

// valueResponse is the body of GET /api/secrets/{key}/value.
type valueResponse struct {
	Key     string `json:"key"`
	Version int    `json:"version"`
	Value   string `json:"value"`
}

// value serves GET /api/secrets/{key}/value: the current value and the
// version it belongs to, from one store read.
func (h *handler) value(w http.ResponseWriter, r *http.Request, p *principal) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, "GET")
		return
	}
	m, env, ok := h.allow(w, r, p, actReveal)
	if !ok {
		return
	}
	key := r.PathValue("key")
	body, err := h.sharedRead(r.Context(), p, "reveal", env, key, func(ctx context.Context) ([]byte, error) {
		s, v, err := m.RevealSecret(ctx, key)
		if err != nil {
			return nil, err
		}
		return marshal(valueResponse{Key: s.Key, Version: s.Version, Value: string(v)})
	})
	if err != nil {
		h.writeCofferError(w, r, err)
		return
	}
	writeBody(w, http.StatusOK, jsonType, body)
}

// environ serves GET /api/environ?format=env|json: every secret of the
// environment with its value. format=env (the default) is a .env file, one
// KEY=value line per secret in key order, quoted where a shell or a .env
// parser would otherwise change the value; format=json is one JSON object
// {"KEY": "value", ...}.
func (h *handler) environ(w http.ResponseWriter, r *http.Request, p *principal) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, "GET")
		return
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "env" && format != "json" {
		writeError(w, apiError{
			Status: http.StatusBadRequest, Code: "invalid_format",
			Message: `Unknown format; use "env" or "json"`,
			Errors:  []fieldError{{Field: "format", Code: "invalid_format", Message: `Use "env" or "json"`}},
		})
		return
	}
	m, env, ok := h.allow(w, r, p, actReveal)
	if !ok {
		return
	}
	op := "environ"
	if format == "json" {
		op = "environ_json" // the shared answer differs by format
	}
	body, err := h.sharedRead(r.Context(), p, op, env, "", func(ctx context.Context) ([]byte, error) {
		vars, err := m.Environ(ctx)
		if err != nil {
			return nil, err
		}
		return formatEnviron(vars, format == "json"), nil
	})
	if err != nil {
		h.writeCofferError(w, r, err)
		return
	}
	if format == "json" {
		writeBody(w, http.StatusOK, jsonType, body)
	} else {
		writeBody(w, http.StatusOK, "text/plain; charset=utf-8", body)
	}
}

// formatEnviron writes Environ's "KEY=value" lines as a .env file or, with
// asJSON, as one JSON object in key order.
func formatEnviron(vars []string, asJSON bool) []byte {
	var b strings.Builder
	if asJSON {
		// Built by hand to keep Environ's key order; each part is a
		// json.Marshal of a string.
		b.WriteByte('{')
		for i, kv := range vars {
			k, v, _ := strings.Cut(kv, "=")
			if i > 0 {
				b.WriteByte(',')
			}
			kj, _ := json.Marshal(k)
			vj, _ := json.Marshal(v)
			b.Write(kj)
			b.WriteByte(':')
			b.Write(vj)
		}
		b.WriteString("}\n")
		return []byte(b.String())
	}
	for _, kv := range vars {
		k, v, _ := strings.Cut(kv, "=")
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(dotenvQuote(v))
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// dotenvQuote writes a value for a .env file: bare when it holds only
// characters no .env parser or shell treats specially; in single quotes
// (read literally by docker compose, godotenv and a POSIX shell) when it
// holds no single quote or line break; otherwise in double quotes with \\,
// \", \$ and \` escaped (as a shell reads them) and line breaks as \n and
// \r (the .env convention; a shell keeps those two as written).
// Parsers disagree on the rarer cases (a backslash inside single quotes for
// python-dotenv, \$ for docker compose), so a program that must read every
// value exactly asks for format=json.
func dotenvQuote(v string) string {
	if v != "" && strings.Trim(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.,/:@%+=") == "" {
		return v
	}
	if !strings.ContainsAny(v, "'\n\r") {
		return "'" + v + "'"
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ { // bytes: a value need not be UTF-8
		switch c := v[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '$':
			b.WriteString(`\$`)
		case '`':
			b.WriteString("\\`")
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
