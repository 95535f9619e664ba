package layout

import (
	"fmt"
	"math"
	"time"

	"gocloud.dev/docstore"
)

// Reading records
//
// coffer reads secret records into a map[string]any and converts them by
// hand (Record.SetFields), not into a Record. docstore decodes into a
// struct by reflection, and its field matching allocates a copy of every
// field it passes over (fields.List.MatchExactBytes in gocloud.dev
// v0.47.0): decoding the 14 metadata fields of one record left some 13 KB
// of garbage, which made a listing of 2,000 secrets 9 to 15 times slower
// than the store's own query. Every driver decodes into a map too, with
// no field matching; what each gives for a field's value differs a little
// (DynamoDB gives times as RFC 3339 strings, Mongo's int32 for small
// integers), and SetFields accepts each form the drivers write. Writes
// still go through Record, so the stored form stays the one documented.

// The fields of the reads that need only some. They are package variables
// so that a read does not allocate its field list. None names ID: a Get
// starts from a document holding the key fields (Record.Doc), every
// driver adds its key fields to a query's projection itself, and a
// listing has no use for ID.
var (
	// ListFields are what a listing of metadata reads: the fields of a
	// secret's metadata but Project and Environment, which the listing's
	// scope fixes.
	ListFields = []docstore.FieldPath{
		"Key", "Description", "Type",
		"CreatedAt", "UpdatedAt", "RotatedAt", "CreatedBy", "UpdatedBy", "Version",
	}
	// KeyFields are what a names-only listing reads.
	KeyFields = []docstore.FieldPath{"Key"}
	// SealedFields are what opening a value needs: the envelope and the
	// creation time it is bound to.
	SealedFields = []docstore.FieldPath{"CreatedAt", "Sealed"}
	// EnvironFields are what opening every value of a scope needs.
	EnvironFields = []docstore.FieldPath{"Key", "CreatedAt", "Sealed"}
)

// Doc returns a map document holding the key fields of r (ID, Scope, Key),
// ready for a Get into it: every driver finds the fields it keys on. It
// holds a nil revision too: docstore looks the revision field up in every
// document it is given, and a map without it costs an error carrying a
// stack trace (gocloud.dev v0.47.0's Document.GetField) on each read.
func (r *Record) Doc() map[string]any {
	return map[string]any{IDField: r.ID, PartitionKey: r.Scope, SortKey: r.Key, RevisionField: nil}
}

// RevisionField is the field holding the driver's revision.
const RevisionField = docstore.DefaultRevisionField

// SetFields sets the fields of r that doc holds, as docstore decoded them
// into a map; fields doc lacks keep their value, and a null leaves the
// zero value. It fails, naming the field but never its value, when a field
// holds a value of a type no driver writes for it. Fields a Record does
// not have are ignored.
func (r *Record) SetFields(doc map[string]any) error {
	for name, v := range doc {
		var err error
		switch name {
		case "ID":
			err = setString(&r.ID, v)
		case "Scope":
			err = setString(&r.Scope, v)
		case "Project":
			err = setString(&r.Project, v)
		case "Environment":
			err = setString(&r.Environment, v)
		case "Key":
			err = setString(&r.Key, v)
		case "Description":
			err = setString(&r.Description, v)
		case "Type":
			err = setString(&r.Type, v)
		case "CreatedAt":
			err = setTime(&r.CreatedAt, v)
		case "UpdatedAt":
			err = setTime(&r.UpdatedAt, v)
		case "RotatedAt":
			err = setTime(&r.RotatedAt, v)
		case "CreatedBy":
			err = setString(&r.CreatedBy, v)
		case "UpdatedBy":
			err = setString(&r.UpdatedBy, v)
		case "Version":
			err = setInt(&r.Version, v)
		case "Sealed":
			err = setBytes(&r.Sealed, v)
		case RevisionField:
			r.DocstoreRevision = v
		}
		if err != nil {
			return fmt.Errorf("stored field %s: %w", name, err)
		}
	}
	return nil
}

func setString(dst *string, v any) error {
	switch v := v.(type) {
	case string:
		*dst = v
	case nil:
		*dst = ""
	default:
		return fmt.Errorf("holds a value of type %T, not a string", v)
	}
	return nil
}

// setTime accepts a time.Time, or the RFC 3339 text DynamoDB stores times
// as (what its driver's struct decoding parses too).
func setTime(dst *time.Time, v any) error {
	switch v := v.(type) {
	case time.Time:
		*dst = v
	case string:
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return fmt.Errorf("holds text that is not an RFC 3339 time")
		}
		*dst = t
	case nil:
		*dst = time.Time{}
	default:
		return fmt.Errorf("holds a value of type %T, not a time", v)
	}
	return nil
}

// setInt accepts any integer a driver decodes (int64 mostly; int32 from
// BSON, uint64 from DynamoDB and the SQL driver above math.MaxInt64) and,
// as docstore's struct decoding does, a float with an integral value.
func setInt(dst *int, v any) error {
	var i int64
	switch v := v.(type) {
	case int64:
		i = v
	case int32:
		i = int64(v)
	case int:
		i = int64(v)
	case uint64:
		if v > math.MaxInt64 {
			return fmt.Errorf("holds an integer out of range")
		}
		i = int64(v)
	case float64:
		// Exact bounds: float64(math.MaxInt64) rounds up to 2^63.
		if v != math.Trunc(v) || v < -(1<<63) || v >= 1<<63 {
			return fmt.Errorf("holds a number that is not an integer")
		}
		i = int64(v)
	case nil:
		i = 0
	default:
		return fmt.Errorf("holds a value of type %T, not an integer", v)
	}
	if int64(int(i)) != i {
		return fmt.Errorf("holds an integer out of range")
	}
	*dst = int(i)
	return nil
}

func setBytes(dst *[]byte, v any) error {
	switch v := v.(type) {
	case []byte:
		*dst = v
	case nil:
		*dst = nil
	default:
		return fmt.Errorf("holds a value of type %T, not bytes", v)
	}
	return nil
}
