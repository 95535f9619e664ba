// Package testengine gives integration tests the address of a real engine
// (PostgreSQL, FerretDB, dynalite, local-kms, Vault, Chromium, the Firestore
// emulator) started on loopback by scripts/engines.sh.
//
// A developer who has not started the engines sees those tests skip with a
// message saying how to start them; in CI, where every engine must run, a
// missing address fails the test instead, so a broken engine setup can never
// pass as a green run of skipped tests.
package testengine

import (
	"os"
	"testing"
)

// Names of the environment variables scripts/engines.sh exports in
// .engines.env.
const (
	// PostgresURL is a PostgreSQL URL, e.g.
	// postgres://postgres@127.0.0.1:55432/postgres?sslmode=disable.
	PostgresURL = "COFFER_POSTGRES_URL"
	// MongoSQLiteURL is a MongoDB URI of FerretDB on its SQLite backend.
	MongoSQLiteURL = "COFFER_MONGO_SQLITE_URL"
	// MongoPGURL is a MongoDB URI of FerretDB on its PostgreSQL backend.
	MongoPGURL = "COFFER_MONGO_PG_URL"
	// DynamoDBEndpoint is the HTTP endpoint of dynalite (a DynamoDB API).
	DynamoDBEndpoint = "COFFER_DYNAMODB_ENDPOINT"
	// KMSEndpoint is the HTTP endpoint of local-kms (an AWS KMS API)
	// holding the key alias/coffer-test in region eu-west-2.
	KMSEndpoint = "COFFER_KMS_ENDPOINT"
	// VaultAddr is the address of a Vault server with the transit engine
	// mounted at transit/, e.g. http://127.0.0.1:8210. Its token is in
	// VAULT_TOKEN, as hashivault's URL opener reads it.
	VaultAddr = "COFFER_VAULT_ADDR"
	// Chromium is the path of the Chromium browser.
	Chromium = "COFFER_CHROMIUM"
	// FirestoreEmulatorHost is the host:port of Google's Firestore emulator
	// (native mode), e.g. 127.0.0.1:8686. .engines.env also sets
	// FIRESTORE_EMULATOR_HOST to it, which Google's Firestore client and
	// gocloud's gcpfirestore dial without credentials.
	FirestoreEmulatorHost = "COFFER_FIRESTORE_EMULATOR_HOST"
)

// Env returns the value of the environment variable name. When it is empty
// the test cannot reach its engine: under CI=true that is a failure (t.Fatalf),
// otherwise the test is skipped (t.Skipf). Either way the message names the
// variable and how to start the engines.
func Env(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	const how = "start the engines with `bash scripts/engines.sh start` and source .engines.env"
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not set: %s", name, how)
	} else {
		t.Skipf("%s is not set: %s", name, how)
	}
	return ""
}
