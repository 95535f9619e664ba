package backend

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/docstore"
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
		{in: "firestore://projects/p/databases/(default)/documents/secrets", want: "firestore://projects/p/databases/(default)/documents/secrets?name_field=ID"},
		{in: "firestore://projects/p/databases/d/documents/secrets?name_field=Key", wantErr: "name_field must be \"ID\""},
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

// recordingOpener stands in for a driver that is not linked into the test
// binary (Firestore has no emulator here): it records the URL it is given.
type recordingOpener struct {
	mu   sync.Mutex
	urls []string
}

func (o *recordingOpener) OpenCollectionURL(_ context.Context, u *url.URL) (*docstore.Collection, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.urls = append(o.urls, u.String())
	return OpenMemCollection()
}

// TestOpenCollectionFirestore: OpenCollection hands the firestore driver
// the URL with name_field=ID, so documents are named by coffer's ID. This
// is the only check of the Firestore layout: it is untested against a live
// Firestore.
func TestOpenCollectionFirestore(t *testing.T) {
	rec := &recordingOpener{}
	docstore.DefaultURLMux().RegisterCollection("firestore", rec)
	coll, err := OpenCollection(context.Background(), "firestore://projects/p/databases/(default)/documents/secrets")
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	want := []string{"firestore://projects/p/databases/(default)/documents/secrets?name_field=ID"}
	if diff := cmp.Diff(want, rec.urls); diff != "" {
		t.Errorf("URL given to the driver (-want +got):\n%s", diff)
	}
	if _, err := OpenCollection(context.Background(), "firestore://projects/p/databases/d/documents/secrets?name_field=Name"); err == nil {
		t.Error("OpenCollection accepted name_field=Name")
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
