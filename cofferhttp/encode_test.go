package cofferhttp

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/coffer-go/coffer"
)

// FuzzAppendSecret holds appendSecret, appendListing and appendKeys to
// encoding/json: the same bytes for any strings (control characters, HTML,
// invalid UTF-8, U+2028) and times, and an error exactly when
// encoding/json refuses.
func FuzzAppendSecret(f *testing.F) {
	now := time.Date(2026, 12, 2, 13, 20, 35, 69000000, time.UTC).UnixNano()
	for _, seed := range []struct {
		key, desc, by string
		at            int64
		years, zone   int
		version       int
	}{
		{"API_KEY", "Stripe key", "alice", now, 0, 0, 1},
		{"K", "<b>&amp;</b> \"q\" \\ \n\r\t\b\f\x00\x1f\x7f", "ci@example.com", now, 0, 3600, 12},
		{"K", "\xff\xfe é \u2028 \u2029 😀 \xed\xa0\x80", "", 0, 0, -19800, 0},
		{"K", "", "", now, 8000, 0, -1}, // year 10026: refused
		{"K", "", "", now, -3000, 0, 1}, // year -974: refused
		{"K", "", "", now, 0, 86399, 1}, // offset of a day less one second
		{"K", "", "", 1, -1969, 0, 1 << 40},
	} {
		f.Add(seed.key, seed.desc, seed.by, seed.at, seed.years, seed.zone, seed.version)
	}
	f.Fuzz(func(t *testing.T, key, desc, by string, at int64, years, zone, version int) {
		tm := time.Unix(0, at).AddDate(years%20000, 0, 0).In(time.FixedZone("", zone%(24*3600)))
		s := coffer.Secret{
			Key: key, Description: desc, Type: coffer.Type(desc), Project: by, Environment: key,
			CreatedAt: tm, UpdatedAt: tm.Add(time.Duration(at % 1e9)), RotatedAt: time.Time{},
			CreatedBy: by, UpdatedBy: desc, Version: version,
		}
		want, wantErr := json.Marshal(toJSON(s))
		got, err := appendSecret(nil, s)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("appendSecret error %v; encoding/json's %v", err, wantErr)
		}
		if err == nil {
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Fatalf("appendSecret (-encoding/json +got):\n%s", diff)
			}
		}

		wantKeys, err := marshal(keysResponse{Environment: by, Keys: []string{key, desc, by}})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(wantKeys), string(appendKeys(nil, by, []string{key, desc, by}))); diff != "" {
			t.Fatalf("appendKeys (-encoding/json +got):\n%s", diff)
		}

		list := []coffer.Secret{s, {Key: by, Description: key, CreatedBy: desc}}
		out := listResponse{Environment: desc, Secrets: []secretJSON{toJSON(list[0]), toJSON(list[1])}}
		want, wantErr = marshal(out)
		got, err = appendListing(nil, desc, list)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("appendListing error %v; encoding/json's %v", err, wantErr)
		}
		if err == nil {
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Fatalf("appendListing (-encoding/json +got):\n%s", diff)
			}
		}
	})
}

// TestAppendListingEmpty: no secrets is an empty array, as encoding/json
// writes an empty non-nil slice.
func TestAppendListingEmpty(t *testing.T) {
	want, err := marshal(listResponse{Environment: "production", Secrets: []secretJSON{}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := appendListing(nil, "production", nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("listing (-encoding/json +got):\n%s", diff)
	}
	want, err = marshal(keysResponse{Environment: "production", Keys: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(appendKeys(nil, "production", nil))); diff != "" {
		t.Errorf("keys (-encoding/json +got):\n%s", diff)
	}
}
