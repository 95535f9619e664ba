//go:build cloud

package main

// With -tags cloud: every store and keeper gocloud serves.
import (
	_ "gocloud.dev/docstore/awsdynamodb/v2" // dynamodb://TABLE
	_ "gocloud.dev/docstore/gcpfirestore"   // firestore://...
	_ "gocloud.dev/docstore/mongodocstore"  // mongo://DB/COLL (MONGO_SERVER_URL)
	_ "gocloud.dev/secrets/awskms"          // awskms://alias/NAME?region=...
	_ "gocloud.dev/secrets/azurekeyvault"   // azurekeyvault://VAULT.vault.azure.net/keys/KEY
	_ "gocloud.dev/secrets/gcpkms"          // gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K
	_ "gocloud.dev/secrets/hashivault"      // hashivault://KEY (VAULT_ADDR, VAULT_TOKEN)
)
