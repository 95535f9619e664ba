package main

// The stores and keepers the command can open by URL. coffer itself links
// only mem:// and base64key://.
import (
	_ "github.com/coffer-go/coffer/backend/sqldocstore" // sqlite://, postgres://
)
