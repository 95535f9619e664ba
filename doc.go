// Package coffer keeps a project's secrets: API keys, database URLs, tokens
// and passwords, stored in a gocloud.dev/docstore collection and sealed under
// a gocloud.dev/secrets keeper.
package coffer
