package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Exit statuses (see the package documentation).
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// app is one invocation of the command: its standard streams and the
// global flags. Nothing about it is global, so tests can run it in-process.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// child holds the streams run gives its program: the process's own
	// files, so the program sees the terminal coffer sees.
	child struct {
		stdin          io.Reader
		stdout, stderr io.Writer
	}

	store, project, env string // global flags; "" when not given

	// started is set when a command's own code begins: an error before it
	// (an unknown command or flag, a wrong number of arguments) is a usage
	// error, one after it a failure.
	started bool
}

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// exitError ends the command with a status of its own (run passes its
// program's status through; check reports findings) after the command has
// printed what it had to say.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Main runs the command with args (without the program name) and returns its
// exit status.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return newApp(stdin, stdout, stderr).main(ctx, args)
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *app {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	a.child.stdin, a.child.stdout, a.child.stderr = stdin, stdout, stderr
	return a
}

func (a *app) main(ctx context.Context, args []string) int {
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	cmd, err := root.ExecuteContextC(ctx)
	return a.report(cmd, err)
}

// report prints err, if any, and returns the exit status for it.
func (a *app) report(cmd *cobra.Command, err error) int {
	var exit exitError
	var usage usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &exit):
		return exit.code
	case errors.As(err, &usage) || !a.started:
		fmt.Fprintf(a.stderr, "coffer: %v\n", err)
		if cmd != nil {
			fmt.Fprintf(a.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
		return exitUsage
	default:
		fmt.Fprintf(a.stderr, "coffer: %v\n", err)
		return exitFailure
	}
}

// run wraps a command's code: it marks the start of the command proper
// (see app.started) and checks the argument count first.
func (a *app) run(nargs func(n int) error, f func(ctx context.Context, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := nargs(len(args)); err != nil {
			return err
		}
		a.started = true
		return f(cmd.Context(), args)
	}
}

// Argument count checks for app.run; their errors are usage errors.
func exactArgs(names ...string) func(int) error {
	return func(n int) error {
		switch {
		case n < len(names):
			return usagef("missing %s", names[n])
		case n > len(names):
			return usagef("too many arguments: want %d (%s), got %d", len(names), joinNames(names), n)
		}
		return nil
	}
}

func noArgs(n int) error {
	if n > 0 {
		return usagef("this command takes no arguments")
	}
	return nil
}

func joinNames(names []string) string {
	s := ""
	for i, n := range names {
		if i > 0 {
			s += " "
		}
		s += n
	}
	return s
}

// rootHelp is `coffer --help`: it fits one 24-line screen.
const rootHelp = `coffer keeps a project's secrets sealed in a store and runs programs with them.

Usage: coffer [--store URL] [--project NAME] [--env NAME] COMMAND [ARGS]

  set KEY           create or update a secret: the value from stdin, --generate N or --file
  list              list secrets, never their values (--json)
  reveal KEY        print a secret's value
  rm KEY            delete a secret for good (asks to type the key back; --yes)
  history KEY       list a secret's versions (--json)
  rollback KEY N    make version N's value the current one
  import FILE       add secrets from a .env file; all lines checked first (--overwrite)
  export            print every secret as .env or JSON (--format env|json)
  run -- CMD ARGS   run CMD with the secrets in its environment (--require K1,K2)
  check             report hygiene findings; exit 1 if any (--env repeatable)
  rotate-key        seal new values under a new data key
  reseal            re-seal every secret under the newest data key
  change-keeper     move the keyring to the keeper in COFFER_NEW_KEEPER_URL (or stdin)
  serve             serve the Secrets page and API on 127.0.0.1:8080 (tokens: help serve)
  completion SHELL  print a shell completion script (bash, zsh, fish, powershell)

Environment: COFFER_STORE_URL, COFFER_PROJECT, COFFER_ENV, and COFFER_KEEPER_URL (never a flag).
Nothing set: a SQLite store and a key file (mode 600) in the user's config directory.
Exit status: 0 ok, 1 failure, 2 usage. 'coffer help COMMAND' for details.
`

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "coffer",
		Short:         "manage a project's secrets and run programs with them",
		SilenceErrors: true,
		SilenceUsage:  true,
		// Bare "coffer": the help, and a usage status.
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q", args[0])
			}
			fmt.Fprint(a.stderr, rootHelp)
			return usageError{errors.New("no command given")}
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.store, "store", "", "store `URL` (env COFFER_STORE_URL)")
	pf.StringVar(&a.project, "project", "", "project `name` (env COFFER_PROJECT; default \"default\")")
	pf.StringVar(&a.env, "env", "", "environment `name` (env COFFER_ENV; default \"default\")")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	defaultHelp := root.HelpFunc()
	root.SetHelpFunc(func(cmd *cobra.Command, args []string) {
		if cmd == root {
			fmt.Fprint(a.stdout, rootHelp)
			return
		}
		defaultHelp(cmd, args)
	})
	root.AddCommand(
		a.setCommand(), a.listCommand(), a.revealCommand(), a.rmCommand(),
		a.historyCommand(), a.rollbackCommand(),
		a.importCommand(), a.exportCommand(), a.runCommand(), a.checkCommand(),
		a.rotateKeyCommand(), a.resealCommand(), a.changeKeeperCommand(),
		a.serveCommand(),
	)
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		c.Flags().SortFlags = false
		if c.Name() == "completion" {
			c.Short = "print a shell completion script"
			// "completion SHELL" with a shell cobra does not know: usage.
			c.RunE = func(_ *cobra.Command, args []string) error {
				if len(args) == 0 {
					return usagef("name a shell: bash, zsh, fish or powershell")
				}
				return usagef("no completion for %q: bash, zsh, fish or powershell", args[0])
			}
			c.Args = cobra.ArbitraryArgs
		}
	}
	return root
}

// isTerminal reports whether f is an *os.File on a terminal.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && termIsTerminal(int(file.Fd()))
}
