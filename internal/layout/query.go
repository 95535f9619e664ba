package layout

import "gocloud.dev/docstore"

// ListQuery returns the query that lists the secrets of one scope (see
// Scope) in key order: Scope = scope, Key > "", ordered by Key. Every
// listing coffer runs (List, Environ, Require, re-sealing) uses it, so each
// driver sees one query shape: on DynamoDB it is a Query of the table's
// partition, never a Scan; elsewhere it is served by an index on
// (Scope, Key).
//
// The Key filter selects every secret (keys are never empty); DynamoDB needs
// a condition on the sort key to order by it.
func ListQuery(coll *docstore.Collection, scope string) *docstore.Query {
	return coll.Query().
		Where(PartitionKey, "=", scope).
		Where(SortKey, ">", "").
		OrderBy(SortKey, docstore.Ascending)
}
