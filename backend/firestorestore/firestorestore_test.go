package firestorestore_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	vkit "cloud.google.com/go/firestore/apiv1"
	"cloud.google.com/go/firestore/apiv1/firestorepb"
	"github.com/google/go-cmp/cmp"
	"gocloud.dev/docstore"
	"gocloud.dev/secrets/gcpkms"
	"gocloud.dev/secrets/localsecrets"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend"
	"github.com/coffer-go/coffer/backend/backendtest"
	"github.com/coffer-go/coffer/backend/firestorestore"
	"github.com/coffer-go/coffer/internal/gcpkmsstub"
	"github.com/coffer-go/coffer/internal/testengine"
)

// The suite runs on Google's Firestore emulator (native mode), which
// scripts/engines.sh starts. The emulator keeps everything in memory and
// needs no indexes; real Firestore needs the composite index on
// (Scope, Key) the package doc names.

var emulator struct {
	once   sync.Once
	client *vkit.Client
	err    error
}

// client returns a Firestore client of the emulator, shared by the tests of
// this binary, and the emulator's host:port.
func client(t *testing.T) (*vkit.Client, string) {
	t.Helper()
	host := testengine.Env(t, testengine.FirestoreEmulatorHost)
	emulator.once.Do(func() {
		// As gcpfirestore.Dial does for FIRESTORE_EMULATOR_HOST: plain
		// gRPC, no credentials.
		conn, err := grpc.NewClient(host, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			emulator.err = err
			return
		}
		emulator.client, emulator.err = vkit.NewClient(context.Background(), option.WithGRPCConn(conn))
	})
	if emulator.err != nil {
		t.Fatalf("connect to the Firestore emulator at %s: %v", host, emulator.err)
	}
	return emulator.client, host
}

// freshProject returns a Google Cloud project ID no earlier run used: each
// harness keeps its collections in a project of its own.
func freshProject() string {
	return "coffer-test-" + strings.ToLower(rand.Text()[:12])
}

func collPath(project, coll string) string {
	return fmt.Sprintf("projects/%s/databases/(default)/documents/%s", project, coll)
}

// clearProject deletes every document of project from the emulator, with
// the emulator's own endpoint for it.
func clearProject(host, project string) error {
	req, err := http.NewRequest(http.MethodDelete, "http://"+host+"/emulator/v1/projects/"+project+"/databases/(default)/documents", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("clear emulator project %s: %s", project, resp.Status)
	}
	return nil
}

// harness makes collections in a project of its own, cleared at Close.
type harness struct {
	client        *vkit.Client
	host, project string
	n             int
}

func (h *harness) MakeCollection(context.Context, *testing.T) (*docstore.Collection, error) {
	h.n++
	return firestorestore.OpenCollection(h.client, collPath(h.project, fmt.Sprintf("secrets_%d", h.n)))
}

func (h *harness) Close() { _ = clearProject(h.host, h.project) }

// TestConformanceEmulator runs the suite on the Firestore emulator.
func TestConformanceEmulator(t *testing.T) {
	c, host := client(t)
	start := time.Now()
	backendtest.RunConformanceTests(t, func(context.Context, *testing.T) (backendtest.Harness, error) {
		return &harness{client: c, host: host, project: freshProject()}, nil
	})
	t.Logf("the conformance suite took %v on the Firestore emulator", time.Since(start).Round(100*time.Millisecond))
}

// getDoc reads the raw Firestore document name of the collection at path,
// or returns its gRPC status code.
func getDoc(ctx context.Context, c *vkit.Client, path, name string) (*firestorepb.Document, codes.Code) {
	doc, err := c.GetDocument(ctx, &firestorepb.GetDocumentRequest{Name: path + "/" + name})
	return doc, status.Code(err)
}

// TestOpenCollectionURL: backend.OpenCollection (through coffer.Open) opens
// firestore:// URLs with the computed names: the secret
// shop/default/A_URL is the document shop~default~A_URL, holding every
// field of coffer's record, its ID among them; the keyring is
// #coffer~keyring. A URL with parameters is refused.
func TestOpenCollectionURL(t *testing.T) {
	c, host := client(t)
	// The URL opener dials like gocloud's: the emulator when this is set.
	t.Setenv("FIRESTORE_EMULATOR_HOST", host)
	ctx := context.Background()
	project := freshProject()
	defer clearProject(host, project)
	path := collPath(project, "secrets")
	const keeper = "base64key://smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4="
	m, err := coffer.Open(ctx, "firestore://"+path, keeper, &coffer.Options{Project: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, k := range []string{"B_TOKEN", "A_URL"} {
		if _, err := m.Create(ctx, coffer.NewSecret{Key: k, Value: "v"}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"A_URL", "B_TOKEN"}, backendtest.Keys(list)); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	doc, code := getDoc(ctx, c, path, "shop~default~A_URL")
	if code != codes.OK {
		t.Fatalf("document shop~default~A_URL: %v", code)
	}
	var fields []string
	for f := range doc.Fields {
		fields = append(fields, f)
	}
	wantFields := []string{"CreatedAt", "CreatedBy", "Description", "DocstoreRevision", "Environment", "ID", "Key", "Project",
		"RotatedAt", "Scope", "Sealed", "Type", "UpdatedAt", "UpdatedBy", "Version"}
	sort.Strings(fields)
	if diff := cmp.Diff(wantFields, fields); diff != "" {
		t.Errorf("fields of the stored document (-want +got):\n%s", diff)
	}
	if got := doc.Fields["ID"].GetStringValue(); got != "shop/default/A_URL" {
		t.Errorf("stored ID %q, want shop/default/A_URL", got)
	}
	if _, code := getDoc(ctx, c, path, "#coffer~keyring"); code != codes.OK {
		t.Errorf("keyring document #coffer~keyring: %v", code)
	}
	if _, code := getDoc(ctx, c, path, "shop~default~NOPE"); code != codes.NotFound {
		t.Errorf("control: an absent document gives %v, want NotFound", code)
	}

	for _, bad := range []string{"?name_field=ID", "?revision_field=R"} {
		_, err := backend.OpenCollection(ctx, "firestore://"+path+bad)
		if err == nil || !strings.Contains(err.Error(), "takes no query parameters (each name is derived from the record's ID)") {
			t.Errorf("OpenCollection with %s: %v; want the error saying coffer names the documents", bad, err)
		}
	}
}

// TestReservedNames: a project starting and a key ending with "__" would
// make a name Firestore reserves (__.*__); the leading "~" keeps it
// writable, and the secret reads, lists and deletes like any other.
func TestReservedNames(t *testing.T) {
	c, host := client(t)
	ctx := context.Background()
	project := freshProject()
	defer clearProject(host, project)
	path := collPath(project, "secrets")
	coll, err := firestorestore.OpenCollection(c, path)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	key, err := localsecrets.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	m, err := coffer.New(coll, localsecrets.NewKeeper(key), &coffer.Options{Project: "__a", Environment: "e"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Create(ctx, coffer.NewSecret{Key: "B__", Value: "v"}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if v, err := m.Reveal(ctx, "B__"); err != nil || v != "v" {
		t.Errorf("Reveal = %q, %v", string(v), err)
	}
	if list, err := m.List(ctx); err != nil || len(list) != 1 || list[0].Key != "B__" {
		t.Errorf("List = %v, %v", backendtest.Keys(list), err)
	}
	if _, code := getDoc(ctx, c, path, "~__a~e~B__"); code != codes.OK {
		t.Errorf("document ~__a~e~B__: %v", code)
	}
	if err := m.Delete(ctx, "B__"); err != nil {
		t.Fatal(err)
	}
	if _, code := getDoc(ctx, c, path, "~__a~e~B__"); code != codes.NotFound {
		t.Errorf("document ~__a~e~B__ after Delete: %v, want NotFound", code)
	}
}

// TestEmulatorRefusesReservedName shows why the leading "~" is there: the
// emulator, like Firestore, refuses to write a document named __.*__.
func TestEmulatorRefusesReservedName(t *testing.T) {
	c, host := client(t)
	ctx := context.Background()
	project := freshProject()
	defer clearProject(host, project)
	_, err := c.CreateDocument(ctx, &firestorepb.CreateDocumentRequest{
		Parent:       "projects/" + project + "/databases/(default)/documents",
		CollectionId: "secrets",
		DocumentId:   "__a~e~B__",
		Document:     &firestorepb.Document{},
	})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("writing a document named __a~e~B__: %v, want InvalidArgument", err)
	}
}

// TestDocumentName: IDs coffer writes and the names they get.
func TestDocumentName(t *testing.T) {
	for _, tt := range []struct{ id, name string }{
		{"shop/production/DATABASE_URL", "shop~production~DATABASE_URL"},
		{"#coffer/keyring", "#coffer~keyring"},
		{"default/default/K", "default~default~K"},
		{"my-app/dev_1/api_key", "my-app~dev_1~api_key"},
		{"__a/e/B__", "~__a~e~B__"},
		{"__/e/__", "~__~e~__"},
		{"__a/e/B_", "__a~e~B_"},
		// IDs with no name.
		{"", ""},
		{"a~b/c/D", ""},
		{"/__a/e/B__", ""},
		{".", ""},
		{"..", ""},
	} {
		if got := firestorestore.DocumentName(tt.id); got != tt.name {
			t.Errorf("DocumentName(%q) = %q, want %q", tt.id, got, tt.name)
		}
		if tt.name == "" {
			continue
		}
		if got, err := firestorestore.ID(tt.name); err != nil || got != tt.id {
			t.Errorf("ID(%q) = %q, %v; want %q", tt.name, got, err, tt.id)
		}
	}
	for _, name := range []string{"", "~", "~shop~p~K", "~~a", "__a~e~B__"} {
		if id, err := firestorestore.ID(name); err == nil {
			t.Errorf("ID(%q) = %q; want ErrNotCofferName", name, id)
		}
	}
}

// FuzzID: ID accepts exactly the names DocumentName gives, and the two
// are inverse, so no two IDs share a name.
func FuzzID(f *testing.F) {
	for _, s := range []string{"shop~production~DATABASE_URL", "#coffer~keyring", "~__a~e~B__", "__a~e~B__", "~", "", "a/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		id, err := firestorestore.ID(name)
		if err != nil {
			return
		}
		if back := firestorestore.DocumentName(id); back != name {
			t.Fatalf("ID(%q) = %q, whose DocumentName is %q", name, id, back)
		}
		if strings.Contains(id, firestorestore.Separator) {
			t.Fatalf("ID(%q) = %q holds the separator", name, id)
		}
	})
}

// FuzzDocumentName: every ID but those DocumentName documents as nameless
// (none of which coffer writes) has a name without "/", which converts back
// to it.
func FuzzDocumentName(f *testing.F) {
	for _, s := range []string{"shop/production/DATABASE_URL", "__a/e/B__", "#coffer/keyring", "", "~", "a//b", "/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		name := firestorestore.DocumentName(id)
		nameless := id == "" || id == "." || id == ".." || strings.HasPrefix(id, "/") || strings.Contains(id, firestorestore.Separator)
		if (name == "") != nameless {
			t.Fatalf("DocumentName(%q) = %q", id, name)
		}
		if name == "" {
			return
		}
		if strings.Contains(name, "/") {
			t.Fatalf("DocumentName(%q) = %q holds a /", id, name)
		}
		if back, err := firestorestore.ID(name); err != nil || back != id {
			t.Fatalf("ID(DocumentName(%q)) = %q, %v", id, back, err)
		}
	})
}

// TestWithGCPKMSStandIn runs the GCP pair together: a Manager over the
// Firestore emulator whose keyring is wrapped by gocloud's gcpkms keeper,
// with Google's Cloud KMS client, against the in-repo stand-in of the Cloud
// KMS API (internal/gcpkmsstub, not Google's service). Create, List,
// Reveal, Update, a data-key rotation and re-seal, a cold Manager, a move
// of the keyring to another KMS key, Delete.
func TestWithGCPKMSStandIn(t *testing.T) {
	c, host := client(t)
	ctx := context.Background()
	stub, err := gcpkmsstub.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer stub.Close()
	const ring = "projects/coffer-test/locations/global/keyRings/coffer/cryptoKeys/"
	for _, k := range []string{"data-keys", "moved"} {
		if err := stub.CreateKey(ring + k); err != nil {
			t.Fatal(err)
		}
	}
	kc, err := stub.NewClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	project := freshProject()
	defer clearProject(host, project)
	coll, err := firestorestore.OpenCollection(c, collPath(project, "secrets"))
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	open := func(key string) *coffer.Manager {
		t.Helper()
		m, err := coffer.New(coll, gcpkms.OpenKeeper(kc, ring+key, nil), &coffer.Options{Project: "shop", Environment: "production"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Close() })
		return m
	}
	m := open("data-keys")
	values := map[string]coffer.Value{
		"DATABASE_URL": "postgres://app:hunter2@db/app",
		"TLS_CERT":     coffer.Value(strings.Repeat("-----BEGIN CERTIFICATE-----0123456789abcdef\n", 200)),
	}
	for _, k := range []string{"TLS_CERT", "DATABASE_URL"} {
		if _, err := m.Create(ctx, coffer.NewSecret{Key: k, Value: values[k]}); err != nil {
			t.Fatalf("Create %s: %v", k, err)
		}
	}
	check := func(what string, m *coffer.Manager) {
		t.Helper()
		list, err := m.List(ctx)
		if err != nil {
			t.Fatalf("%s: List: %v", what, err)
		}
		if diff := cmp.Diff([]string{"DATABASE_URL", "TLS_CERT"}, backendtest.Keys(list)); diff != "" {
			t.Errorf("%s: List (-want +got):\n%s", what, diff)
		}
		for k, want := range values {
			if v, err := m.Reveal(ctx, k); err != nil || v != want {
				t.Errorf("%s: Reveal(%s): %d bytes, %v; want %d bytes", what, k, len(v), err, len(want))
			}
		}
	}
	check("first Manager", m)
	values["DATABASE_URL"] = "postgres://app:correct-horse@db/app"
	if _, err := m.Update(ctx, "DATABASE_URL", coffer.Change{Value: values["DATABASE_URL"]}); err != nil {
		t.Fatal(err)
	}
	if err := m.RotateDataKey(ctx); err != nil {
		t.Fatal(err)
	}
	stats, err := m.Reseal(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Two secrets and the version DATABASE_URL's Update kept.
	if diff := cmp.Diff(coffer.ResealStats{KeyID: 2, Total: 3, Resealed: 3}, stats); diff != "" {
		t.Errorf("Reseal (-want +got):\n%s", diff)
	}
	check("cold Manager", open("data-keys"))

	moved := gcpkms.OpenKeeper(kc, ring+"moved", nil)
	if err := m.ChangeKeeper(ctx, moved); err != nil {
		t.Fatal(err)
	}
	check("cold Manager on the moved keyring", open("moved"))
	if _, err := open("data-keys").Reveal(ctx, "TLS_CERT"); !errors.Is(err, coffer.ErrDecrypt) {
		t.Errorf("Reveal with the old KMS key after the move: %v, want ErrDecrypt", err)
	}
	if err := m.Delete(ctx, "TLS_CERT"); err != nil {
		t.Fatal(err)
	}
	if _, err := open("moved").Reveal(ctx, "TLS_CERT"); !errors.Is(err, coffer.ErrNotFound) {
		t.Errorf("Reveal after Delete: %v, want ErrNotFound", err)
	}
}
