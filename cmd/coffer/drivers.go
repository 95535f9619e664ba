package main

// The stores the command opens by URL, besides coffer's own mem:// and
// base64key://. The cloud drivers are in drivers_cloud.go, built with
// -tags cloud: linked in, their package initialisation (protobuf, gRPC,
// the MongoDB and AWS clients) doubles the start-up time of every command
// (BENCHMARKS.md, "The coffer command").
import (
	_ "github.com/coffer-go/coffer/backend/sqldocstore" // sqlite://, postgres://
)
