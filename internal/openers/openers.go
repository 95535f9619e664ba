// Package openers lets a driver package that package backend must not
// import — because it links a large SDK — serve one of backend.OpenCollection's
// URL schemes. The driver package sets its opener in an init function, so a
// program links the SDK only when it blank-imports that package, as with
// database/sql drivers.
package openers

import (
	"context"

	"gocloud.dev/docstore"
)

// Firestore opens the Firestore collection collResourceID
// ("projects/P/databases/D/documents/C") with coffer's layout. It is nil
// until package backend/firestorestore is linked in.
var Firestore func(ctx context.Context, collResourceID string) (*docstore.Collection, error)
