package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"gocloud.dev/secrets"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/internal/redact"
)

func (a *app) rotateKeyCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "rotate-key",
		Short: "seal new values under a new data key",
		Long: `Add a new data key to the store's keyring and seal new values under it.
Existing values stay readable under their old keys: run 'coffer reseal' once
every process has picked up the new key (within 30 seconds).`,
	}
	c.RunE = a.run(noArgs, func(ctx context.Context, _ []string) error {
		return a.withManager(ctx, func(ctx context.Context, m *coffer.Manager) error {
			if err := m.RotateDataKey(ctx); err != nil {
				return err
			}
			fmt.Fprintln(a.stderr, "rotated: new values are sealed under a new data key; in 30 seconds, run 'coffer reseal' to move the existing ones")
			return nil
		})
	})
	return c
}

func (a *app) resealCommand() *cobra.Command {
	var batch int
	c := &cobra.Command{
		Use:   "reseal",
		Short: "re-seal every secret under the newest data key",
		Long: `Re-seal every secret of the store — every project and environment — under
the newest data key, in batches. Safe to interrupt and run again; it never
loses a concurrent update. Shows a progress bar on a terminal, plain lines
otherwise.`,
	}
	c.Flags().IntVar(&batch, "batch", 0, "records per store round trip (default 100)")
	c.RunE = a.run(noArgs, func(ctx context.Context, _ []string) error {
		if batch < 0 {
			return usagef("--batch must be positive")
		}
		return a.withManager(ctx, func(ctx context.Context, m *coffer.Manager) error {
			var p *progress
			stats, err := m.Reseal(ctx, &coffer.ResealOptions{BatchSize: batch, Progress: func(done, total int) {
				if p == nil {
					p = a.newProgress(total, "resealing")
				}
				p.set(done, fmt.Sprintf("resealed %d/%d", done, total))
			}})
			if p != nil {
				p.finish()
			}
			fmt.Fprintf(a.stderr, "%d sealed values (secrets and their kept versions): %d re-sealed, %d already under data key %d, %d deleted meanwhile, %d failed\n",
				stats.Total, stats.Resealed, stats.Skipped, stats.KeyID, stats.Gone, stats.Failed)
			return err
		})
	})
	return c
}

func (a *app) changeKeeperCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "change-keeper",
		Short: "move the keyring to another keeper",
		Long: `Move the store's keyring to another keeper (a KMS migration): every data key
is unwrapped by the current keeper (COFFER_KEEPER_URL) and wrapped again by
the new one; no secret is read or written. The new keeper URL comes from
COFFER_NEW_KEEPER_URL, or else from standard input (a prompt without echo on
a terminal) — never from an argument, as it may hold key material.

Afterwards set COFFER_KEEPER_URL to the new keeper for every process, and
retire the old key once they have all moved.`,
		Example: `  COFFER_NEW_KEEPER_URL=awskms://alias/coffer?region=eu-west-2 coffer change-keeper`,
	}
	c.RunE = a.run(noArgs, func(ctx context.Context, _ []string) error {
		url := os.Getenv(envNewKeeper)
		if url == "" {
			v, err := a.readValue(valueSource{}, "New keeper URL (input hidden): ")
			if err != nil {
				return err
			}
			url = strings.TrimSpace(string(v))
		}
		if url == "" {
			return fmt.Errorf("no new keeper: set %s or give its URL on standard input", envNewKeeper)
		}
		keeper, err := secrets.OpenKeeper(ctx, url)
		if err != nil {
			return redact.Error("open the new keeper", url, err)
		}
		defer keeper.Close()
		return a.withManager(ctx, func(ctx context.Context, m *coffer.Manager) error {
			if err := m.ChangeKeeper(ctx, keeper); err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "the keyring is now wrapped by the new keeper: set %s to it for every process, then retire the old key\n", envKeeper)
			return nil
		})
	})
	return c
}
