// Package backend opens the gocloud docstore collections coffer runs on,
// with coffer's layout: OpenCollection takes a coffer collection URL
// (mem://, mongo://, dynamodb://, firestore://, sqlite://, postgres://) and
// adds the key fields each driver needs, so the same records are found on
// every store. The constants here are what a team needs to create tables and
// indexes itself; the stored schema is documented in package coffer
// ("Stored schema").
//
// Subpackages: sqldocstore is coffer's own docstore driver for SQLite and
// PostgreSQL; mongostore and dynamostore open collections from a client a
// program already holds; firestorestore serves firestore:// URLs (blank-
// import it) and names each Firestore document from its ID, as a document
// name cannot hold "/"; claims makes revision checks atomic on stores
// whose own are not (FerretDB 1.x); backendtest is the conformance suite
// every backend passes.
package backend
