// Command quickstart walks through the Secrets page's flow on coffer's
// embedded default: add secrets, list them as the page's table (never their
// values), edit one, reveal it as a program would, and delete one.
package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log"
	"os"
	"text/tabwriter"

	"gocloud.dev/secrets/localsecrets"

	"github.com/coffer-go/coffer"
)

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	// A random key for this run; a real deployment keeps its keeper URL (or
	// KMS key) in configuration, apart from the store.
	key, err := localsecrets.NewRandomKey()
	if err != nil {
		return err
	}
	keeperURL := "base64key://" + base64.URLEncoding.EncodeToString(key[:])
	m, err := coffer.Open(ctx, "mem://quickstart", keeperURL, &coffer.Options{Project: "shop", Environment: "development"})
	if err != nil {
		return err
	}
	defer m.Close()
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
	return printTable(ctx, m)
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
