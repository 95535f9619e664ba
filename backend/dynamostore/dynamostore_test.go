package dynamostore_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"
	"gocloud.dev/docstore"
	_ "gocloud.dev/docstore/awsdynamodb/v2" // the dynamodb:// URL scheme, for TestOpenCollectionURL

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend"
	"github.com/coffer-go/coffer/backend/backendtest"
	"github.com/coffer-go/coffer/backend/dynamostore"
	"github.com/coffer-go/coffer/internal/layout"
	"github.com/coffer-go/coffer/internal/testengine"
)

// dynalite's region and credentials: any will do, these are the engines'.
const region = "eu-west-2"

// newClient returns a DynamoDB client for the endpoint of dynalite.
func newClient(t *testing.T) *dynamodb.Client {
	t.Helper()
	endpoint := testengine.Env(t, testengine.DynamoDBEndpoint)
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	if err != nil {
		t.Fatal(err)
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

// freshTable returns a table name no earlier run used.
func freshTable() string {
	return "coffer_test_" + strings.ToLower(rand.Text()[:12])
}

// harness makes one table per collection and deletes them at Close.
type harness struct {
	client *dynamodb.Client
	tables []string
}

func (h *harness) MakeCollection(ctx context.Context, _ *testing.T) (*docstore.Collection, error) {
	table := freshTable()
	if err := dynamostore.CreateTable(ctx, h.client, table); err != nil {
		return nil, err
	}
	h.tables = append(h.tables, table)
	return dynamostore.OpenCollection(h.client, table)
}

func (h *harness) Close() {
	for _, table := range h.tables {
		_, _ = h.client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	}
}

// TestConformanceDynalite runs the suite on dynalite (the DynamoDB API).
// dynalite, like DynamoDB, checks each conditional write atomically; it has
// no transactions, which coffer does not use.
func TestConformanceDynalite(t *testing.T) {
	client := newClient(t)
	backendtest.RunConformanceTests(t, func(context.Context, *testing.T) (backendtest.Harness, error) {
		return &harness{client: client}, nil
	})
}

// TestListIsKeyedQuery: the listing queries coffer runs are Queries of the
// table (one partition, in sort-key order), never a Scan. The control
// queries show the plan does tell the two apart.
func TestListIsKeyedQuery(t *testing.T) {
	client := newClient(t)
	ctx := context.Background()
	h := &harness{client: client}
	defer h.Close()
	coll, err := h.MakeCollection(ctx, t)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	plan, err := layout.ListQuery(coll, layout.Scope("shop", "production")).Plan(layout.MetadataFields...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan, "Table") || strings.Contains(plan, "Scan") {
		t.Errorf("List plan = %q; want a Query of the table, not a Scan", plan)
	}
	// A secret's versions (Versions, Delete) are the same query of its
	// history scope: one partition too.
	plan, err = layout.ListQuery(coll, layout.HistoryScope("shop", "production", "API_KEY")).Plan(layout.VersionMetadataFields...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan, "Table") || strings.Contains(plan, "Scan") {
		t.Errorf("versions plan = %q; want a Query of the table, not a Scan", plan)
	}
	scan, err := coll.Query().Where("Project", "=", "shop").Plan()
	if err != nil || !strings.Contains(scan, "Scan") {
		t.Errorf("control: a filter on a non-key field plans as %q, %v; want a Scan", scan, err)
	}
	if _, err := coll.Query().Where("Scope", "=", "shop/production").OrderBy("Key", docstore.Ascending).Plan(); err == nil {
		t.Error("control: OrderBy without a Key condition planned; coffer's Key > \"\" would be unnecessary")
	}
}

// TestCreateTable: the table has coffer's key schema and on-demand billing;
// creating it again is an error.
func TestCreateTable(t *testing.T) {
	client := newClient(t)
	ctx := context.Background()
	table := freshTable()
	if err := dynamostore.CreateTable(ctx, client, table); err != nil {
		t.Fatal(err)
	}
	defer client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	d := out.Table
	var keys []string
	for _, k := range d.KeySchema {
		keys = append(keys, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
	}
	var attrs []string
	for _, a := range d.AttributeDefinitions {
		attrs = append(attrs, aws.ToString(a.AttributeName)+" "+string(a.AttributeType))
	}
	got := map[string]any{"keys": keys, "attrs": attrs, "status": string(d.TableStatus)}
	want := map[string]any{"keys": []string{"Scope HASH", "Key RANGE"}, "attrs": []string{"Scope S", "Key S"}, "status": "ACTIVE"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
	if d.BillingModeSummary == nil || d.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing mode %+v, want PAY_PER_REQUEST", d.BillingModeSummary)
	}
	err = dynamostore.CreateTable(ctx, client, table)
	var inUse *types.ResourceInUseException
	if !errors.As(err, &inUse) {
		t.Errorf("second CreateTable: %v, want ResourceInUseException", err)
	}
}

// TestOpenCollectionURL: backend.OpenCollection's layout for dynamodb://
// URLs works with the real driver, and a URL whose keys break the layout
// is refused.
func TestOpenCollectionURL(t *testing.T) {
	client := newClient(t)
	ctx := context.Background()
	table := freshTable()
	if err := dynamostore.CreateTable(ctx, client, table); err != nil {
		t.Fatal(err)
	}
	defer client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	endpoint := testengine.Env(t, testengine.DynamoDBEndpoint)
	url := fmt.Sprintf("dynamodb://%s?region=%s&endpoint=%s", table, region, endpoint)
	const keeper = "base64key://smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4="
	m, err := coffer.Open(ctx, url, keeper, &coffer.Options{Project: "shop"})
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
	if err != nil || len(list) != 2 || list[0].Key != "A_URL" {
		t.Errorf("List = %+v, %v", list, err)
	}
	item, err := client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(table),
		Key: map[string]types.AttributeValue{
			"Scope": &types.AttributeValueMemberS{Value: "shop/default"},
			"Key":   &types.AttributeValueMemberS{Value: "A_URL"},
		},
	})
	if err != nil || item.Item == nil {
		t.Fatalf("the secret is not stored under (Scope, Key): %v", err)
	}
	if id, ok := item.Item["ID"].(*types.AttributeValueMemberS); !ok || id.Value != "shop/default/A_URL" {
		t.Errorf("stored ID %v", item.Item["ID"])
	}
	if _, err := backend.OpenCollection(ctx, url+"&partition_key=ID"); err == nil {
		t.Error("OpenCollection accepted partition_key=ID, which breaks coffer's layout")
	}
}
