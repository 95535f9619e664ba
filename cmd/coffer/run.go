package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/coffer-go/coffer"
)

func (a *app) runCommand() *cobra.Command {
	var require []string
	c := &cobra.Command{
		Use:   "run [--require K1,K2] -- CMD [ARGS...]",
		Short: "run a program with the secrets in its environment",
		Long: `Run CMD with every secret of the project and environment in its environment,
over the variables coffer itself was given (a secret wins over an inherited
variable of the same name). COFFER_KEEPER_URL and COFFER_NEW_KEEPER_URL are
not passed on: the program gets its secrets, not the key to all of them.

--require checks that the named keys exist before anything starts, and names
every missing one. Signals coffer receives (SIGINT, SIGTERM, SIGHUP, SIGQUIT,
SIGUSR1, SIGUSR2) are passed on to the program — except a Ctrl-C typed at
the terminal, which the terminal itself sends to the program (once); coffer
exits with the program's status, or 128+N when signal N ended it.`,
		Example: `  coffer run -- ./server --port 8080
  coffer --env production run --require DATABASE_URL,STRIPE_API_KEY -- ./app`,
	}
	c.Flags().StringSliceVar(&require, "require", nil, "fail before starting CMD unless these `keys` exist (comma-separated, repeatable)")
	// Flags after CMD belong to CMD.
	c.Flags().SetInterspersed(false)
	c.RunE = a.run(func(n int) error {
		if n == 0 {
			return usageError{errNoProgram}
		}
		return nil
	}, func(ctx context.Context, args []string) error {
		var env []string
		err := a.withManager(ctx, func(ctx context.Context, m *coffer.Manager) error {
			if len(require) > 0 {
				if err := m.Require(ctx, require...); err != nil {
					return fmt.Errorf("not starting %s: %w", args[0], err)
				}
			}
			var err error
			env, err = m.Environ(ctx)
			return err
		})
		if err != nil {
			return err
		}
		code, err := runProgram(args, childEnv(os.Environ(), env), a)
		if err != nil {
			return err
		}
		return exitError{code}
	})
	return c
}

var errNoProgram = errors.New("no program to run: coffer run [--require K1,K2] -- CMD ARGS")

// childEnv is inherited with secrets laid over it, less the keeper URLs.
func childEnv(inherited, secrets []string) []string {
	drop := map[string]bool{envKeeper: true, envNewKeeper: true}
	for _, kv := range secrets {
		k, _, _ := strings.Cut(kv, "=")
		drop[k] = true
	}
	out := make([]string, 0, len(inherited)+len(secrets))
	for _, kv := range inherited {
		if k, _, _ := strings.Cut(kv, "="); !drop[k] {
			out = append(out, kv)
		}
	}
	return append(out, secrets...)
}

// runProgram starts args with env and the command's standard streams,
// passes signals on until it ends, and returns its exit status.
func runProgram(args, env []string, a *app) (int, error) {
	path, err := exec.LookPath(args[0])
	if err != nil {
		return 0, fmt.Errorf("cannot run %s: %w", args[0], errors.Unwrap(err))
	}
	cmd := exec.Command(path, args[1:]...)
	cmd.Args[0] = args[0]
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = a.child.stdin, a.child.stdout, a.child.stderr
	// Catch the signals before the program starts, so none is lost to
	// coffer's default action (dying) in between.
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("cannot run %s: %w", args[0], err)
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				if s == os.Interrupt && keyboardInterrupt(a.stdin) {
					continue // the terminal sent it to the program too
				}
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err = cmd.Wait()
	close(done)
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return 0, err
	}
	if status, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && status.Signaled() {
		return 128 + int(status.Signal()), nil
	}
	return cmd.ProcessState.ExitCode(), nil
}
