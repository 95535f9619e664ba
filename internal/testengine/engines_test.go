package testengine

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"gocloud.dev/docstore/gcpfirestore"
	"gocloud.dev/docstore/mongodocstore"
	_ "gocloud.dev/secrets/awskms" // registers the awskms:// keeper URL scheme

	"github.com/coffer-go/coffer/internal/keepertest"
)

// These smoke tests prove that scripts/engines.sh starts every engine where
// .engines.env says it is, with one real round trip each. The backends'
// own tests exercise the engines in depth. Vault's is TestVault in
// internal/vaulttest, the nested module that holds Vault's API client.

func smokeContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestPostgres(t *testing.T) {
	dsn := Env(t, PostgresURL)
	ctx := smokeContext(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got int
	if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&got); err != nil {
		t.Fatalf("SELECT 1: %v", err)
	}
	if got != 1 {
		t.Errorf("SELECT 1 = %d, want 1", got)
	}
}

type smokeDoc struct {
	Name  string `docstore:"name"`
	Value string `docstore:"value"`
}

func TestFerretDB(t *testing.T) {
	for _, name := range []string{MongoSQLiteURL, MongoPGURL} {
		t.Run(name, func(t *testing.T) {
			uri := Env(t, name)
			ctx := smokeContext(t)
			client, err := mongodocstore.Dial(ctx, uri)
			if err != nil {
				t.Fatal(err)
			}
			defer client.Disconnect(context.WithoutCancel(ctx))
			// Without a server the driver waits out its 30 s server
			// selection on every call; one bounded ping fails fast instead.
			pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := client.Ping(pingCtx, nil); err != nil {
				t.Fatalf("ping %s: %v", name, err)
			}

			// A fresh collection per run, so that reruns against the same
			// engines never meet an earlier run's document.
			collName := "smoke_" + strings.ToLower(rand.Text())
			defer client.Database("coffer_smoke").Collection(collName).Drop(context.WithoutCancel(ctx))
			opener := &mongodocstore.URLOpener{Client: client}
			u, err := url.Parse("mongo://coffer_smoke/" + collName + "?id_field=name")
			if err != nil {
				t.Fatal(err)
			}
			coll, err := opener.OpenCollectionURL(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			defer coll.Close()

			want := smokeDoc{Name: "greeting", Value: "hello"}
			if err := coll.Create(ctx, &smokeDoc{Name: want.Name, Value: want.Value}); err != nil {
				t.Fatalf("Create: %v", err)
			}
			got := smokeDoc{Name: want.Name}
			if err := coll.Get(ctx, &got); err != nil {
				t.Fatalf("Get: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Get after Create (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDynalite(t *testing.T) {
	endpoint := Env(t, DynamoDBEndpoint)
	ctx := smokeContext(t)
	// Credentials and region come from .engines.env, as they will for the
	// DynamoDB backend's tests.
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})
	if _, err := client.ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("ListTables: %v", err)
	}
}

func TestLocalKMS(t *testing.T) {
	endpoint := Env(t, KMSEndpoint)
	keepertest.RoundTrip(t, "awskms://alias/coffer-test?region=eu-west-2&endpoint="+url.QueryEscape(endpoint))
}

// TestFirestoreEmulator: the emulator answers at the address .engines.env
// gives, through gocloud's gcpfirestore dialled as its URL opener does
// (FIRESTORE_EMULATOR_HOST: plain gRPC, no credentials).
func TestFirestoreEmulator(t *testing.T) {
	host := Env(t, FirestoreEmulatorHost)
	t.Setenv("FIRESTORE_EMULATOR_HOST", host)
	ctx := smokeContext(t)
	client, closeClient, err := gcpfirestore.Dial(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeClient()
	// A project of its own per run: the emulator keeps data until it stops.
	project := "coffer-smoke-" + strings.ToLower(rand.Text()[:12])
	coll, err := gcpfirestore.OpenCollection(client, gcpfirestore.CollectionResourceID(project, "smoke"), "name", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	want := smokeDoc{Name: "greeting", Value: "hello"}
	if err := coll.Create(ctx, &smokeDoc{Name: want.Name, Value: want.Value}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	got := smokeDoc{Name: want.Name}
	if err := coll.Get(ctx, &got); err != nil {
		t.Fatalf("Get: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Get after Create (-want +got):\n%s", diff)
	}
}

func TestChromium(t *testing.T) {
	browser := Env(t, Chromium)
	ctx := smokeContext(t)
	// The flags stop Chromium from reaching for hosts this machine cannot
	// reach; a fresh profile keeps runs independent.
	out, err := exec.CommandContext(ctx, browser,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(),
		"--dump-dom", "data:text/html,<p id=probe>coffer-smoke</p>",
	).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	if want := `<p id="probe">coffer-smoke</p>`; !strings.Contains(string(out), want) {
		t.Errorf("chromium --dump-dom printed %q, want it to contain %q", out, want)
	}
}
