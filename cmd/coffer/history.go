package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/coffer-go/coffer"
)

func (a *app) historyCommand() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "history KEY",
		Short: "list a secret's versions",
		Long: `List the versions of KEY that can be revealed or rolled back to, newest
first: when each value was set and by whom. Never a value.`,
		ValidArgsFunction: a.completeKeys,
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	c.RunE = a.run(exactArgs("KEY"), func(ctx context.Context, args []string) error {
		return a.withManager(ctx, func(ctx context.Context, m *coffer.Manager) error {
			versions, err := m.Versions(ctx, args[0])
			if err != nil {
				return err
			}
			if asJSON {
				type versionJSON struct {
					Version   int       `json:"version"`
					CreatedAt time.Time `json:"created_at"`
					CreatedBy string    `json:"created_by"`
					Current   bool      `json:"current"`
				}
				out := make([]versionJSON, len(versions))
				for i, v := range versions {
					out[i] = versionJSON{v.Version, v.CreatedAt, v.CreatedBy, v.Current}
				}
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "VERSION\tSET\tBY\tCURRENT")
			for _, v := range versions {
				current := ""
				if v.Current {
					current = "yes"
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", v.Version, v.CreatedAt.Local().Format("2006-01-02 15:04:05"), v.CreatedBy, current)
			}
			return w.Flush()
		})
	})
	return c
}

func (a *app) rollbackCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "rollback KEY VERSION",
		Short: "make an earlier version's value the current one",
		Long: `Make the value of version VERSION of KEY its current value again, as a new
version (rolling version 3 of a secret at version 5 back makes version 6).
The description stays. 'coffer history KEY' lists the versions.`,
		ValidArgsFunction: a.completeKeys,
	}
	c.RunE = a.run(exactArgs("KEY", "VERSION"), func(ctx context.Context, args []string) error {
		version, err := strconv.Atoi(args[1])
		if err != nil || version < 1 {
			return usagef("VERSION is a version number (1, 2, ...), not %q", args[1])
		}
		return a.withManager(ctx, func(ctx context.Context, m *coffer.Manager) error {
			s, err := m.Rollback(ctx, args[0], version)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "rolled %s back to version %d's value: it is now version %d\n", s.Key, version, s.Version)
			return nil
		})
	})
	return c
}
