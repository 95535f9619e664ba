package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/coffer-go/coffer"
)

func (a *app) importCommand() *cobra.Command {
	var overwrite bool
	c := &cobra.Command{
		Use:   "import FILE",
		Short: "add secrets from a .env file",
		Long: `Add the secrets of a .env file (FILE, or - for standard input).

Every line is checked first — .env syntax, the key rules, the values, keys
set twice — and every problem is reported with its line number before
anything is written. Keys that exist already are listed and skipped, unless
--overwrite gives them the file's values.

The file is read as github.com/joho/godotenv reads it: KEY=value,
export KEY=value, # comments, 'single' and "double" quotes (values may span
lines inside quotes; \n in double quotes is a newline). $NAME and ${NAME} in
unquoted and double-quoted values expand to keys set earlier in the file; a
reference to no earlier key is a problem. Single quotes keep a value as it is.`,
		Example: `  coffer import .env
  coffer --env staging export | coffer --env production import --overwrite -`,
	}
	c.Flags().BoolVar(&overwrite, "overwrite", false, "replace the values of keys that exist")
	c.RunE = a.run(exactArgs("FILE"), func(ctx context.Context, args []string) error {
		name := args[0]
		var r io.Reader = a.stdin
		if name == "-" {
			name = "standard input"
		} else {
			f, err := os.Open(name)
			if err != nil {
				return err
			}
			defer f.Close()
			r = f
		}
		src, err := io.ReadAll(io.LimitReader(r, maxInputBytes+1))
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		if len(src) > maxInputBytes {
			return fmt.Errorf("%s is over %d bytes", name, maxInputBytes)
		}
		return a.withManager(ctx, func(ctx context.Context, m *coffer.Manager) error {
			return a.importEnv(ctx, m, name, src, overwrite)
		})
	})
	return c
}

func (a *app) importEnv(ctx context.Context, m *coffer.Manager, name string, src []byte, overwrite bool) error {
	entries, values, problems := parseEnv(src)
	for _, e := range entries {
		v, ok := values[e.key]
		if !ok {
			v = statementValue(src, e)
		}
		if err := m.Validate(coffer.NewSecret{Key: e.key, Value: coffer.Value(v)}); err != nil {
			problems = append(problems, envProblem{e.line, fmt.Sprintf("%s: %v", e.key, err)})
		}
	}
	if len(problems) > 0 {
		sort.SliceStable(problems, func(i, j int) bool { return problems[i].line < problems[j].line })
		fmt.Fprintf(a.stderr, "%s:\n", name)
		for _, p := range problems {
			fmt.Fprintf(a.stderr, "  %s\n", p)
		}
		return fmt.Errorf("%s has %d %s; nothing was imported", name, len(problems), plural(len(problems), "problem", "problems"))
	}
	list, err := m.List(ctx)
	if err != nil {
		return err
	}
	stored := make(map[string]bool, len(list))
	for _, s := range list {
		stored[s.Key] = true
	}
	var created, updated, skipped []string
	p := a.newProgress(len(entries), "importing")
	for i, e := range entries {
		v := coffer.Value(values[e.key])
		var line string
		switch {
		case !stored[e.key]:
			if _, err := m.Create(ctx, coffer.NewSecret{Key: e.key, Value: v}); err != nil {
				p.finish()
				return importFailed(err, e.key, created, updated)
			}
			created = append(created, e.key)
			line = "created " + e.key
		case overwrite:
			if _, err := m.Update(ctx, e.key, coffer.Change{Value: v}); err != nil {
				p.finish()
				return importFailed(err, e.key, created, updated)
			}
			updated = append(updated, e.key)
			line = "updated " + e.key
		default:
			skipped = append(skipped, e.key)
			line = "skipped " + e.key + ": it exists (--overwrite replaces it)"
		}
		p.set(i+1, line)
	}
	p.finish()
	fmt.Fprintf(a.stderr, "imported %d %s from %s: %d created, %d updated, %d skipped\n",
		len(created)+len(updated), plural(len(created)+len(updated), "secret", "secrets"), name, len(created), len(updated), len(skipped))
	if len(skipped) > 0 && p.bar != nil {
		fmt.Fprintf(a.stderr, "skipped, as they exist (--overwrite replaces them): %s\n", strings.Join(skipped, ", "))
	}
	return nil
}

// importFailed says how far an import got when a write failed.
func importFailed(err error, key string, created, updated []string) error {
	return fmt.Errorf("%s: %w (before it, %d created and %d updated; run the import again with --overwrite to finish)", key, err, len(created), len(updated))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (a *app) exportCommand() *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:   "export",
		Short: "print every secret with its value",
		Long: `Print every secret of the project and environment with its value, sorted
by key: as a .env file that import (and godotenv) reads back exactly, or as a
JSON object. The output holds the values: handle it as a secret.`,
		Example: `  coffer export > .env.local && chmod 600 .env.local
  coffer export --format json | jq -r .DATABASE_URL`,
	}
	c.Flags().StringVar(&format, "format", "env", "`env` or json")
	c.RunE = a.run(noArgs, func(ctx context.Context, _ []string) error {
		if format != "env" && format != "json" {
			return usagef("--format is env or json, not %q", format)
		}
		return a.withManager(ctx, func(ctx context.Context, m *coffer.Manager) error {
			env, err := m.Environ(ctx)
			if err != nil {
				return err
			}
			if format == "json" {
				obj := make(map[string]string, len(env))
				for _, kv := range env {
					k, v, _ := strings.Cut(kv, "=")
					obj[k] = v
				}
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				return enc.Encode(obj)
			}
			var b strings.Builder
			var unwritable []string
			for _, kv := range env {
				k, v, _ := strings.Cut(kv, "=")
				line, ok := formatEnv(k, v)
				if !ok {
					unwritable = append(unwritable, k)
					continue
				}
				b.WriteString(line)
				b.WriteByte('\n')
			}
			if len(unwritable) > 0 {
				return fmt.Errorf("the values of %s cannot be written in .env syntax that godotenv reads back exactly; use --format json", strings.Join(unwritable, ", "))
			}
			_, err = io.WriteString(a.stdout, b.String())
			return err
		})
	})
	return c
}
