package sqldocstore_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/coffer-go/coffer/backend/sqldocstore"
	"gocloud.dev/docstore"
)

func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sqldocstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	db, err := sqldocstore.OpenSQLite(filepath.Join(dir, "coffer.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	coll, err := sqldocstore.OpenCollection(ctx, db, sqldocstore.SQLite, "secrets", "ID",
		&sqldocstore.Options{Indexes: [][]string{{"Scope", "Key"}}})
	if err != nil {
		log.Fatal(err)
	}
	defer coll.Close()

	type Secret struct {
		ID, Scope, Key   string
		DocstoreRevision any
	}
	for _, k := range []string{"B_TOKEN", "A_KEY"} {
		if err := coll.Create(ctx, &Secret{ID: "p/e/" + k, Scope: "p/e", Key: k}); err != nil {
			log.Fatal(err)
		}
	}
	q := coll.Query().Where("Scope", "=", "p/e").Where("Key", ">", "").OrderBy("Key", docstore.Ascending)
	plan, err := q.Plan("ID", "Key")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(plan)
	it := q.Get(ctx, "ID", "Key")
	defer it.Stop()
	for {
		var s Secret
		err := it.Next(ctx, &s)
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(s.Key)
	}
	// Output:
	// SELECT revision, id, json_extract(document, '$."Key"'), CASE WHEN typeof(json_extract(document, '$."Key"')) = 'text' AND substr(json_extract(document, '$."Key"'), 1, 1) NOT IN ('{', '[') THEN NULL ELSE document -> '$."Key"' END FROM "secrets" WHERE (typeof(json_extract(document, '$."Scope"')) = 'text' AND json_extract(document, '$."Scope"') = ? AND (substr(json_extract(document, '$."Scope"'), 1, 1) NOT IN ('{', '[') OR json_type(document, '$."Scope"') = 'text')) AND (typeof(json_extract(document, '$."Key"')) = 'text' AND json_extract(document, '$."Key"') > ? AND (substr(json_extract(document, '$."Key"'), 1, 1) NOT IN ('{', '[') OR json_type(document, '$."Key"') = 'text')) ORDER BY json_extract(document, '$."Key"') ASC
	// A_KEY
	// B_TOKEN
}
