package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/coffer-go/coffer/cofferhttp"
)

// Environment variables both programs read.
const (
	// EnvToken holds the token of an admin named "admin".
	EnvToken = "COFFER_SERVER_TOKEN"
	// EnvTokensFile names a tokens file.
	EnvTokensFile = "COFFER_SERVER_TOKENS_FILE"
	// EnvSessionKey holds the session key, base64 of cofferhttp.SessionKeyLen bytes.
	EnvSessionKey = "COFFER_SESSION_KEY"
)

// AdminName is the name of the token in EnvToken: the actor of its changes.
const AdminName = "admin"

// tokenFile is one entry of a tokens file:
//
//	[{"name": "ci-deploy", "secret": "...", "role": "reader", "environments": ["production"]}]
type tokenFile struct {
	Name         string   `json:"name"`
	Secret       string   `json:"secret"`
	Role         string   `json:"role"`
	Environments []string `json:"environments"`
}

// AdminToken is the token of EnvToken: an admin named AdminName.
func AdminToken(secret string) cofferhttp.Token {
	return cofferhttp.Token{Name: AdminName, Secret: secret, Role: cofferhttp.RoleAdmin}
}

// ReadTokens reads a tokens file; "" means none. Its errors never quote
// the file's content.
func ReadTokens(path string) ([]cofferhttp.Token, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	tokens, err := ParseTokens(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return tokens, nil
}

// ParseTokens parses a tokens file, a JSON list of {"name", "secret",
// "role", "environments"}. Its errors never quote the content.
func ParseTokens(data []byte) ([]cofferhttp.Token, error) {
	var entries []tokenFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&entries); err != nil {
		return nil, errors.New(`not a JSON list of {"name", "secret", "role", "environments"}`)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON list")
	}
	out := make([]cofferhttp.Token, len(entries))
	for i, e := range entries {
		out[i] = cofferhttp.Token{Name: e.Name, Secret: e.Secret, Role: cofferhttp.Role(e.Role), Environments: e.Environments}
	}
	return out, nil
}

// SessionKey decodes the value of EnvSessionKey; "" gives nil (a random
// key: sessions end with the process). Its errors never quote the value.
func SessionKey(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New(EnvSessionKey + " is not base64")
	}
	if len(key) != cofferhttp.SessionKeyLen {
		return nil, fmt.Errorf("%s holds %d bytes; it must be base64 of %d (head -c %d /dev/urandom | base64)", EnvSessionKey, len(key), cofferhttp.SessionKeyLen, cofferhttp.SessionKeyLen)
	}
	return key, nil
}
