package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/coffer-go/coffer"
)

func (a *app) checkCommand() *cobra.Command {
	var (
		envs   []string
		maxAge string
		kinds  []string
		asJSON bool
	)
	c := &cobra.Command{
		Use:   "check",
		Short: "report hygiene findings; exit 1 if any",
		Long: `Check the secrets against the Secrets page's best practices: values not
rotated within --max-age, missing descriptions, keys not in UPPER_SNAKE_CASE,
keys missing from one of the environments compared, one value shared by
several environments, weak values, keys that differ only in case or
underscores. Findings go to standard output (never a value); the exit status
is 1 when there is any, so check can gate a CI pipeline.

--env is repeatable: with several, their secrets are compared.`,
		Example: `  coffer check
  coffer check --env staging --env production --max-age 30d`,
	}
	f := c.Flags()
	f.StringArrayVar(&envs, "env", nil, "an environment to check and compare (repeatable; default: COFFER_ENV or \"default\")")
	f.StringVar(&maxAge, "max-age", "", "rotation limit: days (90d) or a Go duration (2160h); default 90d")
	f.StringSliceVar(&kinds, "kind", nil, "only these `kinds` of finding (not_rotated, no_description, naming, missing_in_environment, shared_value, weak_value, similar_key)")
	f.BoolVar(&asJSON, "json", false, "print a JSON array")
	c.RunE = a.run(noArgs, func(ctx context.Context, _ []string) error {
		opts := &coffer.CheckOptions{Environments: envs}
		if maxAge != "" {
			d, err := parseAge(maxAge)
			if err != nil {
				return usagef("--max-age: %v", err)
			}
			opts.MaxAge = d
		}
		for _, k := range kinds {
			opts.Kinds = append(opts.Kinds, coffer.FindingKind(k))
		}
		return a.withManager(ctx, func(ctx context.Context, m *coffer.Manager) error {
			findings, err := m.Check(ctx, opts)
			if err != nil {
				return err
			}
			if asJSON {
				type findingJSON struct {
					Kind        string `json:"kind"`
					Environment string `json:"environment"`
					Key         string `json:"key"`
					Message     string `json:"message"`
				}
				out := make([]findingJSON, len(findings))
				for i, f := range findings {
					out[i] = findingJSON{string(f.Kind), f.Environment, f.Key, f.Message}
				}
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(out); err != nil {
					return err
				}
			} else if len(findings) > 0 {
				w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(w, "ENVIRONMENT\tKEY\tFINDING\tMESSAGE")
				for _, f := range findings {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", f.Environment, f.Key, f.Kind, f.Message)
				}
				if err := w.Flush(); err != nil {
					return err
				}
			}
			if len(findings) > 0 {
				fmt.Fprintf(a.stderr, "coffer: %d %s\n", len(findings), plural(len(findings), "finding", "findings"))
				return exitError{exitFailure}
			}
			fmt.Fprintln(a.stderr, "no findings")
			return nil
		})
	})
	return c
}

// maxAgeDays bounds --max-age in days, well inside a time.Duration.
const maxAgeDays = 36500

// parseAge reads "90d" as days, anything else as a Go duration.
func parseAge(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > maxAgeDays {
			return 0, fmt.Errorf("%q is not a number of days from 1 to %d", s, maxAgeDays)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is neither days (90d) nor a positive duration (2160h)", s)
	}
	return d, nil
}
