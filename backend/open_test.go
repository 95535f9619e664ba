package backend

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/docstore"

	"github.com/coffer-go/coffer/internal/openers"
)

// TestLayoutURLs: the parameters OpenCollection adds per scheme, and
// parameters that would break the layout are refused.
func TestLayoutURLs(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{in: "mongo://db/secrets", want: "mongo://db/secrets?id_field=ID"},
		{in: "mongo://db/secrets?id_field=ID", want: "mongo://db/secrets?id_field=ID"},
		{in: "mongo://db/secrets?id_field=_id", wantErr: "id_field must be \"ID\""},
		{in: "dynamodb://secrets", want: "dynamodb://secrets?allow_scans=true&consistent_read=true&partition_key=Scope&sort_key=Key"},
		{in: "dynamodb://secrets?region=eu-west-2", want: "dynamodb://secrets?allow_scans=true&consistent_read=true&partition_key=Scope&region=eu-west-2&sort_key=Key"},
		{in: "dynamodb://secrets?partition_key=ID", wantErr: "partition_key must be \"Scope\""},
		{in: "dynamodb://secrets?consistent_read=false", wantErr: "consistent_read must be \"true\""},
		{in: "sqlite:///var/lib/coffer.db", want: "sqlite:///var/lib/coffer.db?index=Scope%2CKey&key_field=ID&table=coffer_secrets"},
		{in: "sqlite:///var/lib/coffer.db?table=app_secrets", want: "sqlite:///var/lib/coffer.db?index=Scope%2CKey&key_field=ID&table=app_secrets"},
		{in: "sqlite:///var/lib/coffer.db?key_field=id", wantErr: "key_field must be \"ID\""},
		{in: "postgres://u@h/db?sslmode=disable", want: "postgres://u@h/db?index=Scope%2CKey&key_field=ID&sslmode=disable&table=coffer_secrets"},
		{in: "postgresql://u@h/db", want: "postgresql://u@h/db?index=Scope%2CKey&key_field=ID&table=coffer_secrets"},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := applyLayout(u, driverLayout[u.Scheme])
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("applyLayout(%s) = %v, %v; want an error saying %s", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("applyLayout(%s): %v", tt.in, err)
			continue
		}
		if got.String() != tt.want {
			t.Errorf("applyLayout(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestOpenCollectionFirestore: OpenCollection hands firestore:// URLs to
// package backend/firestorestore (through internal/openers) as a
// collection resource ID; without that package linked in, or with query
// parameters (the driver's name_field would break the computed names), it
// says what is wrong. Opening on the Firestore emulator is tested in
// backend/firestorestore.
func TestOpenCollectionFirestore(t *testing.T) {
	ctx := context.Background()
	const u = "firestore://projects/p/databases/(default)/documents/secrets"
	if openers.Firestore != nil {
		t.Fatal("this test binary links backend/firestorestore; the test needs it absent")
	}
	_, err := OpenCollection(ctx, u)
	if err == nil || !strings.Contains(err.Error(), "firestore:// needs package github.com/coffer-go/coffer/backend/firestorestore: blank-import it") {
		t.Errorf("OpenCollection without backend/firestorestore: %v; want the error naming the package", err)
	}

	var got []string
	openers.Firestore = func(_ context.Context, collResourceID string) (*docstore.Collection, error) {
		got = append(got, collResourceID)
		return OpenMemCollection()
	}
	defer func() { openers.Firestore = nil }()
	coll, err := OpenCollection(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	if diff := cmp.Diff([]string{"projects/p/databases/(default)/documents/secrets"}, got); diff != "" {
		t.Errorf("collection resource ID given to backend/firestorestore (-want +got):\n%s", diff)
	}
	for _, bad := range []string{u + "?name_field=ID", u + "?name_field=Name", u + "?revision_field=R", "firestore://user@projects/p/databases/d/documents/c"} {
		_, err := OpenCollection(ctx, bad)
		if err == nil {
			t.Errorf("OpenCollection accepted %s", bad)
		}
	}
	if len(got) != 1 {
		t.Errorf("backend/firestorestore was asked %d times; the refused URLs must not reach it", len(got))
	}
}

// TestClaimsParam: claims=true or false is taken off a mongo:// URL before
// the driver sees it; anywhere else, or with another value, it is refused.
func TestClaimsParam(t *testing.T) {
	for _, tt := range []struct {
		in, wantURL, wantErr string
		want                 bool
	}{
		{in: "mongo://db/secrets?claims=true", wantURL: "mongo://db/secrets", want: true},
		{in: "mongo://db/secrets?claims=false&id_field=ID", wantURL: "mongo://db/secrets?id_field=ID"},
		{in: "mongo://db/secrets", wantURL: "mongo://db/secrets"},
		{in: "mongo://db/secrets?claims=yes", wantErr: "query parameter claims must be given once, as true or false"},
		{in: "mongo://db/secrets?claims=true&claims=true", wantErr: "query parameter claims must be given once, as true or false"},
		{in: "mongo://db/secrets?claims=", wantErr: "query parameter claims must be given once, as true or false"},
		{in: "sqlite:///x.db?claims=true", wantErr: "query parameter claims is for mongo:// URLs only"},
		{in: "dynamodb://t?claims=false", wantErr: "query parameter claims is for mongo:// URLs only"},
	} {
		u, err := url.Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := takeClaimsParam(u)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("takeClaimsParam(%s) = %v, %v; want error %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want || u.String() != tt.wantURL {
			t.Errorf("takeClaimsParam(%s) = %v, %v, URL %s; want %v, URL %s", tt.in, got, err, u, tt.want, tt.wantURL)
		}
	}
	// Through OpenCollection the refusal is an error before any driver is
	// asked.
	if _, err := OpenCollection(context.Background(), "sqlite:///x.db?claims=true"); err == nil {
		t.Error("OpenCollection accepted claims on a sqlite:// URL")
	}
}
