package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/coffer-go/coffer"
)

// withManager opens the configured Manager, runs f with it and closes it.
func (a *app) withManager(ctx context.Context, f func(ctx context.Context, m *coffer.Manager) error) error {
	m, err := a.open(ctx, nil)
	if err != nil {
		return err
	}
	err = f(coffer.WithActor(ctx, actor()), m)
	if cerr := m.Close(); err == nil {
		err = cerr
	}
	return err
}

func (a *app) setCommand() *cobra.Command {
	var (
		desc, typ string
		src       valueSource
	)
	c := &cobra.Command{
		Use:   "set KEY",
		Short: "create or update a secret",
		Long: `Create the secret KEY, or update it when it exists.

The value comes from standard input (a prompt without echo on a terminal;
from a pipe, one trailing newline is removed), from --generate N, or from
--file PATH (its bytes as they are); never from an argument. Updating with
an empty value keeps the current one, so --description alone edits the
description. The type is inferred from the key unless --type sets it; an
existing secret's type cannot change.`,
		Example: `  printf %s "$STRIPE_KEY" | coffer set STRIPE_API_KEY --description "Payments"
  coffer set SESSION_SIGNING_KEY --generate 32
  coffer set TLS_KEY --file server.key
  coffer set DATABASE_URL --description "Primary database" < /dev/null`,
		ValidArgsFunction: a.completeKeys,
	}
	f := c.Flags()
	f.StringVarP(&desc, "description", "d", "", "what the secret is for")
	f.StringVarP(&typ, "type", "t", "", "the secret's type (default: inferred from KEY)")
	f.IntVar(&src.generate, "generate", 0, "use `N` random bytes (16-1024), URL-safe base64, as the value")
	f.StringVar(&src.file, "file", "", "read the value from `PATH`")
	c.RunE = a.run(exactArgs("KEY"), func(ctx context.Context, args []string) error {
		if err := src.check(); err != nil {
			return err
		}
		return a.withManager(ctx, func(ctx context.Context, m *coffer.Manager) error {
			return a.set(ctx, m, args[0], desc, c.Flags().Changed("description"), coffer.Type(typ), src)
		})
	})
	return c
}

func (a *app) set(ctx context.Context, m *coffer.Manager, key, desc string, descSet bool, typ coffer.Type, src valueSource) error {
	cur, err := m.Get(ctx, key)
	exists := err == nil
	var hint string
	switch {
	case exists:
	case errors.Is(err, coffer.ErrNotFound):
		hint = didYouMean(err)
	case errors.Is(err, coffer.ErrInvalidKey), errors.Is(err, coffer.ErrKeyRequired):
		// Create below reports this with every other problem.
	default:
		return err
	}
	prompt := fmt.Sprintf("Value for %s (input hidden): ", key)
	if exists {
		prompt = fmt.Sprintf("New value for %s (input hidden; Enter keeps the current one): ", key)
	}
	v, err := a.readValue(src, prompt)
	if err != nil {
		return err
	}
	if exists {
		if typ != "" && typ != cur.Type {
			return fmt.Errorf("%s is a %s secret: an existing secret's type cannot change (delete and set it again)", key, cur.Type)
		}
		ch := coffer.Change{Value: v}
		if descSet {
			ch.Description = &desc
		}
		s, err := m.Update(ctx, key, ch)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stderr, "updated %s (version %d)\n", s.Key, s.Version)
		return nil
	}
	s, err := m.Create(ctx, coffer.NewSecret{Key: key, Value: v, Description: desc, Type: typ})
	if err != nil {
		if hint != "" {
			return fmt.Errorf("%w (did you mean %s?)", err, hint)
		}
		return err
	}
	fmt.Fprintf(a.stderr, "created %s (%s, version %d)\n", s.Key, s.Type, s.Version)
	if hint != "" {
		fmt.Fprintf(a.stderr, "coffer: note: %s is a new secret; did you mean %s? (keys are case-sensitive)\n", key, hint)
	}
	return nil
}

// didYouMean returns the stored key coffer's ErrNotFound suggests, or "".
func didYouMean(err error) string {
	const marker = "did you mean "
	msg := err.Error()
	i := strings.LastIndex(msg, marker)
	if i < 0 {
		return ""
	}
	return strings.TrimSuffix(msg[i+len(marker):], "?")
}

// secretJSON is a secret's metadata as list --json prints it.
type secretJSON struct {
	Key         string    `json:"key"`
	Description string    `json:"description"`
	Type        string    `json:"type"`
	Project     string    `json:"project"`
	Environment string    `json:"environment"`
	Version     int       `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	RotatedAt   time.Time `json:"rotated_at"`
	CreatedBy   string    `json:"created_by"`
	UpdatedBy   string    `json:"updated_by"`
}

func (a *app) listCommand() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "list",
		Short: "list secrets, never their values",
		Long:  "List the secrets of the project and environment, sorted by key: metadata only, never a value.",
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	c.RunE = a.run(noArgs, func(ctx context.Context, _ []string) error {
		return a.withManager(ctx, func(ctx context.Context, m *coffer.Manager) error {
			list, err := m.List(ctx)
			if err != nil {
				return err
			}
			if asJSON {
				out := make([]secretJSON, len(list))
				for i, s := range list {
					out[i] = secretJSON{s.Key, s.Description, string(s.Type), s.Project, s.Environment, s.Version,
						s.CreatedAt, s.UpdatedAt, s.RotatedAt, s.CreatedBy, s.UpdatedBy}
				}
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			if len(list) == 0 {
				c, _ := a.config()
				fmt.Fprintf(a.stderr, "no secrets in project %q, environment %q\n", orDefault(c.project), orDefault(c.env))
				return nil
			}
			w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "KEY\tTYPE\tVERSION\tUPDATED\tDESCRIPTION")
			for _, s := range list {
				fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", s.Key, s.Type, s.Version, s.UpdatedAt.Local().Format("2006-01-02 15:04"), oneLine(s.Description))
			}
			return w.Flush()
		})
	})
	return c
}

func orDefault(name string) string {
	if name == "" {
		return coffer.DefaultName
	}
	return name
}

// oneLine keeps a description on its table row.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func (a *app) revealCommand() *cobra.Command {
	c := &cobra.Command{
		Use:               "reveal KEY",
		Short:             "print a secret's value",
		Long:              "Print the value of KEY and a newline on standard output.",
		ValidArgsFunction: a.completeKeys,
	}
	c.RunE = a.run(exactArgs("KEY"), func(ctx context.Context, args []string) error {
		return a.withManager(ctx, func(ctx context.Context, m *coffer.Manager) error {
			v, err := m.Reveal(ctx, args[0])
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.stdout, string(v))
			return err
		})
	})
	return c
}

func (a *app) rmCommand() *cobra.Command {
	var yes bool
	c := &cobra.Command{
		Use:   "rm KEY",
		Short: "delete a secret for good",
		Long: `Delete the secret KEY and its value for good.

As the Secrets page's delete dialog does, it asks for the key to be typed
back (read from standard input) unless --yes is given.`,
		ValidArgsFunction: a.completeKeys,
	}
	c.Flags().BoolVarP(&yes, "yes", "y", false, "delete without asking")
	c.RunE = a.run(exactArgs("KEY"), func(ctx context.Context, args []string) error {
		key := args[0]
		return a.withManager(ctx, func(ctx context.Context, m *coffer.Manager) error {
			s, err := m.Get(ctx, key)
			if err != nil {
				return err
			}
			if !yes {
				typed, err := a.readLine(fmt.Sprintf("Delete %s from project %q, environment %q for good? Type the key to confirm: ", key, s.Project, s.Environment))
				if err != nil {
					return fmt.Errorf("no confirmation read (%v); nothing deleted (--yes skips the question)", err)
				}
				if typed != key {
					return errors.New("the typed key does not match; nothing deleted")
				}
			}
			if err := m.Delete(ctx, key); err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "deleted %s\n", key)
			return nil
		})
	})
	return c
}

// completeKeys completes a command's KEY argument with the stored keys. It
// never creates the default store.
func (a *app) completeKeys(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	c, err := a.config()
	if err != nil || c.defaultStore != "" && !exists(c.defaultStore) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var keys []string
	_ = a.withManager(cmd.Context(), func(ctx context.Context, m *coffer.Manager) error {
		list, err := m.List(ctx)
		for _, s := range list {
			if strings.HasPrefix(s.Key, prefix) {
				keys = append(keys, s.Key)
			}
		}
		return err
	})
	return keys, cobra.ShellCompDirectiveNoFileComp
}
