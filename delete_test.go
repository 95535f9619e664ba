package coffer_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"gocloud.dev/docstore"
	"gocloud.dev/docstore/driver"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend"
	"github.com/coffer-go/coffer/coffertest"
	"github.com/coffer-go/coffer/internal/faults"
	"github.com/coffer-go/coffer/internal/layout"
)

// beforeDelete is a collection driver that calls hook before it runs a
// Delete of the document with ID id: a writer that always gets in between
// a Delete's read and its delete.
type beforeDelete struct {
	driver.Collection
	id   string
	hook func()
}

func (c *beforeDelete) RunActions(ctx context.Context, actions []*driver.Action, opts *driver.RunActionsOptions) driver.ActionListError {
	for _, a := range actions {
		if a.Kind == driver.Delete && a.Key == c.id {
			c.hook()
		}
	}
	return c.Collection.RunActions(ctx, actions, opts)
}

// TestDeleteOutlastsWriters: a Delete that loses to a writer of the key on
// each of its conditional tries deletes the record anyway on the next, and
// then destroys the versions the writers made meanwhile, even those its
// own read did not show: the writers edit the description first (on a
// fixed clock, so the record Delete reads looks as if it had no history),
// then change the value right before the delete without a revision.
func TestDeleteOutlastsWriters(t *testing.T) {
	ctx := context.Background()
	inner, err := backend.OpenMemCollection()
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	drv, err := faults.DriverOf(inner)
	if err != nil {
		t.Fatal(err)
	}
	keeper := coffertest.RandomKeeper(t)
	fixed := coffertest.WithClock(nil, time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC))
	writer, err := coffer.New(inner, keeper, fixed)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	if _, err := writer.Create(ctx, coffer.NewSecret{Key: "K", Value: "v1"}); err != nil {
		t.Fatal(err)
	}
	hooks := 0
	wrapped := docstore.NewCollection(&beforeDelete{Collection: drv, id: layout.ID(coffer.DefaultName, coffer.DefaultName, "K"), hook: func() {
		hooks++
		var c coffer.Change
		if hooks <= coffer.ConditionalDeletes {
			c.Description = new(fmt.Sprint("edit ", hooks))
		} else if hooks == coffer.ConditionalDeletes+1 {
			c.Value = "v2"
		} else {
			return
		}
		if _, err := writer.Update(ctx, "K", c); err != nil {
			t.Errorf("writer's update %d: %v", hooks, err)
		}
	}})
	m, err := coffer.New(wrapped, keeper, fixed)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	if err := m.Delete(ctx, "K"); err != nil {
		t.Fatalf("Delete outlasting writers: %v", err)
	}
	if hooks != coffer.ConditionalDeletes+1 {
		t.Errorf("Delete tried %d times, want %d: %d under the revision it read, then one without", hooks, coffer.ConditionalDeletes+1, coffer.ConditionalDeletes)
	}
	it := inner.Query().Get(ctx)
	defer it.Stop()
	for {
		doc := map[string]any{}
		err := it.Next(ctx, doc)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if doc["Key"] == "K" || doc["SecretKey"] == "K" {
			t.Errorf("left in the store after Delete: %v (version %v)", doc["ID"], doc["Version"])
		}
	}
}
