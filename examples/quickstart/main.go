// Command quickstart walks through the Secrets page's flow on coffer's
// embedded default: add secrets, list them as the page's table (never their
// values), edit one, reveal it as a program would, and delete one.
package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"text/tabwriter"

	"gocloud.dev/secrets/localsecrets"

	"github.com/coffer-go/coffer"
	_ "github.com/coffer-go/coffer/backend/sqldocstore" // sqlite://, the durable embedded store
)

func main() {
	data := flag.String("data", "", "directory for the SQLite store and its key file (default: a new temporary directory, removed at exit)")
	flag.Parse()
	if err := run(context.Background(), *data); err != nil {
		log.Fatal(err)
	}
}

// open opens the store in dir: a SQLite file sealed under a local key kept
// beside it. A real deployment keeps its keeper (a KMS key) apart from the
// store; a key file next to the database only suits a demo.
func open(ctx context.Context, dir string) (*coffer.Manager, error) {
	keyFile := filepath.Join(dir, "keeper.key")
	key, err := os.ReadFile(keyFile)
	if errors.Is(err, os.ErrNotExist) {
		k, err := localsecrets.NewRandomKey()
		if err != nil {
			return nil, err
		}
		key = []byte(base64.URLEncoding.EncodeToString(k[:]))
		if err := os.WriteFile(keyFile, key, 0o600); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	storeURL := "sqlite://" + filepath.ToSlash(filepath.Join(dir, "coffer.db"))
	return coffer.Open(ctx, storeURL, "base64key://"+string(key), &coffer.Options{Project: "shop", Environment: "development"})
}

func run(ctx context.Context, dir string) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "coffer-quickstart-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	m, err := open(ctx, dir)
	if err != nil {
		return err
	}
	defer func() { m.Close() }()
	fmt.Println("Store:", filepath.Join(dir, "coffer.db"))
	if left, err := m.List(ctx); err != nil {
		return err
	} else if len(left) > 0 {
		fmt.Printf("%d secrets survived from an earlier run; starting over.\n", len(left))
		for _, s := range left {
			if err := m.Delete(ctx, s.Key); err != nil {
				return err
			}
		}
	}
	ctx = coffer.WithActor(ctx, "quickstart")

	fmt.Println("Adding secrets...")
	for _, s := range []coffer.NewSecret{
		{Key: "STRIPE_API_KEY", Value: "sk_test_4eC39HqLyjWDarjtT1zdp7dc", Description: "Payments (test mode)"},
		{Key: "DATABASE_URL", Value: "postgres://shop:s3cret@127.0.0.1:5432/shop", Description: "Primary database"},
		{Key: "SESSION_SIGNING_KEY", Value: "f1d2d2f924e986ac86fdf7b36c94bcdf32beec15"},
	} {
		if _, err := m.Create(ctx, s); err != nil {
			return err
		}
	}

	fmt.Println("\nThe page's rules at work:")
	_, err = m.Create(ctx, coffer.NewSecret{Key: "", Value: ""})
	fmt.Println("  empty form:        ", err)
	_, err = m.Create(ctx, coffer.NewSecret{Key: "stripe-api-key", Value: "x"})
	fmt.Println("  bad key:           ", err)
	_, err = m.Create(ctx, coffer.NewSecret{Key: "DATABASE_URL", Value: "x"})
	fmt.Println("  duplicate:         ", err)

	desc := "Primary database (read-write)"
	if _, err := m.Update(ctx, "DATABASE_URL", coffer.Change{Description: &desc}); err != nil {
		return err
	}
	_, err = m.Update(ctx, "DATABASE_URL", coffer.Change{Description: &desc})
	fmt.Println("  edit, nothing new: ", err)
	if _, err := m.Update(ctx, "STRIPE_API_KEY", coffer.Change{Value: "sk_test_rotated_51Hx"}); err != nil {
		return err
	}

	if err := printTable(ctx, m); err != nil {
		return err
	}

	v, err := m.Reveal(ctx, "STRIPE_API_KEY")
	if err != nil {
		return err
	}
	fmt.Printf("\nA program reads STRIPE_API_KEY: %d bytes; printed as %v\n", len(string(v)), v)
	_, err = m.Reveal(ctx, "stripe_api_key")
	fmt.Println("A typo:", err)

	if err := m.Delete(ctx, "SESSION_SIGNING_KEY"); err != nil {
		return err
	}
	if err := m.Delete(ctx, "SESSION_SIGNING_KEY"); !errors.Is(err, coffer.ErrNotFound) {
		return fmt.Errorf("second delete: want ErrNotFound, got %v", err)
	}
	fmt.Println("\nDeleted SESSION_SIGNING_KEY (permanent).")

	// A restart: close everything, open the file again, read it back.
	if err := m.Close(); err != nil {
		return err
	}
	if m, err = open(ctx, dir); err != nil {
		return err
	}
	fmt.Println("\nAfter a restart, from the SQLite file:")
	if err := printTable(ctx, m); err != nil {
		return err
	}
	v, err = m.Reveal(ctx, "STRIPE_API_KEY")
	if err != nil {
		return err
	}
	if string(v) != "sk_test_rotated_51Hx" {
		return errors.New("STRIPE_API_KEY did not survive the restart")
	}
	fmt.Println("STRIPE_API_KEY still reveals its rotated value.")
	return nil
}

// printTable prints the Secrets page's table: never a value.
func printTable(ctx context.Context, m *coffer.Manager) error {
	list, err := m.List(ctx)
	if err != nil {
		return err
	}
	fmt.Println()
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "KEY\tDESCRIPTION\tTYPE\tCREATED\tVERSION")
	for _, s := range list {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\n", s.Key, s.Description, s.Type, s.CreatedAt.Format("2006-01-02 15:04"), s.Version)
	}
	return w.Flush()
}
