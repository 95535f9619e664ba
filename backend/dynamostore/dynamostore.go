// Package dynamostore creates and opens coffer tables on Amazon DynamoDB,
// through gocloud.dev/docstore/awsdynamodb/v2.
//
// It lives apart from package backend so that programs which do not use
// DynamoDB never link the AWS SDK. backend.OpenCollection("dynamodb://TABLE")
// opens the same layout from a URL when awsdynamodb is blank-imported; this
// package is for programs that hold a *dynamodb.Client, and creates the table.
//
// Layout: partition key Scope (project/environment) and sort key Key, both
// strings, so listing a project's environment is a Query of one partition
// in key order, never a Scan. Reads are strongly consistent, so a change is
// seen by the next read of any Manager. Each write stands alone: coffer uses
// no DynamoDB transactions; Update and Delete are conditional on the
// revision, and a write that lost a race is retried after a fresh read.
package dynamostore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"gocloud.dev/docstore"
	"gocloud.dev/docstore/awsdynamodb/v2"

	"github.com/coffer-go/coffer/backend"
)

// maxTableWait bounds how long CreateTable waits for a new table to become
// ACTIVE; ctx may end the wait sooner.
const maxTableWait = 10 * time.Minute

// CreateTable creates table with coffer's key schema — partition key Scope
// and sort key Key, both strings — billed on demand, and waits until it is
// ACTIVE. A table that already exists is an error (ResourceInUseException).
func CreateTable(ctx context.Context, client *dynamodb.Client, table string) error {
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(backend.PartitionKey), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(backend.SortKey), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(backend.PartitionKey), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(backend.SortKey), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	})
	if err != nil {
		return fmt.Errorf("coffer: create DynamoDB table %s: %w", table, err)
	}
	// The SDK's default first poll comes after 20 s; a new on-demand table
	// is usually ACTIVE within seconds.
	w := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay = time.Second
		o.MaxDelay = 5 * time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, maxTableWait); err != nil {
		return fmt.Errorf("coffer: wait for DynamoDB table %s to become active: %w", table, err)
	}
	return nil
}

// OpenCollection opens table (made by CreateTable) as a docstore collection
// with coffer's layout: keyed Query for listings, strongly consistent
// reads, and scans allowed for whole-collection jobs such as re-sealing.
// It calls DescribeTable once. Closing it does not close the client.
func OpenCollection(client *dynamodb.Client, table string) (*docstore.Collection, error) {
	coll, err := awsdynamodb.OpenCollection(client, table, backend.PartitionKey, backend.SortKey, &awsdynamodb.Options{
		AllowScans:     true,
		ConsistentRead: true,
	})
	if err != nil {
		return nil, fmt.Errorf("coffer: open DynamoDB table %s: %w", table, err)
	}
	return coll, nil
}
