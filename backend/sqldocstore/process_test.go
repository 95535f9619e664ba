package sqldocstore

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gocloud.dev/docstore"
	"gocloud.dev/gcerrors"
)

// record has the shape of coffer's stored secret.
type record struct {
	ID, Scope, Key, Description, Type string
	CreatedAt, UpdatedAt              time.Time
	Version                           int
	Sealed                            []byte
	DocstoreRevision                  any
}

func newRecord(scope, key string) *record {
	sealed := make([]byte, 100)
	rand.Read(sealed)
	now := time.Now()
	return &record{
		ID: scope + "/" + key, Scope: scope, Key: key,
		Description: "a secret used by the tests", Type: "api_key",
		CreatedAt: now, UpdatedAt: now, Version: 1, Sealed: sealed,
	}
}

// The child processes of the crash and two-process tests are this test
// binary, re-executed with these variables set.
const (
	envChild = "SQLDOCSTORE_TEST_CHILD"
	envDB    = "SQLDOCSTORE_TEST_DB"
	envArg   = "SQLDOCSTORE_TEST_ARG"
)

func TestMain(m *testing.M) {
	switch os.Getenv(envChild) {
	case "":
		os.Exit(m.Run())
	case "create":
		os.Exit(childCreate(os.Getenv(envDB), os.Getenv(envArg)))
	case "increment":
		os.Exit(childIncrement(os.Getenv(envDB), os.Getenv(envArg)))
	default:
		fmt.Fprintln(os.Stderr, "unknown child mode")
		os.Exit(2)
	}
}

func openRecords(ctx context.Context, path string) (*docstore.Collection, error) {
	db, err := OpenSQLite(path)
	if err != nil {
		return nil, err
	}
	c, err := newCollection(ctx, db, SQLite, "records", "ID", nil, &Options{Indexes: [][]string{{"Scope", "Key"}}})
	if err != nil {
		db.Close()
		return nil, err
	}
	c.ownsDB = true
	return docstore.NewCollection(c), nil
}

// childCreate creates records until it is killed, printing each ID after
// its Create returned nil.
func childCreate(path, prefix string) int {
	ctx := context.Background()
	coll, err := openRecords(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 1
	}
	for i := 0; ; i++ {
		r := newRecord("proj/env", fmt.Sprintf("%s_%06d", prefix, i))
		if err := coll.Create(ctx, r); err != nil {
			fmt.Fprintln(os.Stderr, "create:", err)
			return 1
		}
		// os.Stdout is unbuffered: the line is out before the next Create.
		fmt.Println(r.ID)
	}
}

func startChild(t *testing.T, mode, path, arg string) (*exec.Cmd, io.ReadCloser, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"="+mode, envDB+"="+path, envArg+"="+arg)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, out, &stderr
}

// TestCrashKeepsAcknowledgedWrites kills a writing process with SIGKILL
// at a random point, ten times, and checks after each kill that the file
// is sound and holds every record whose Create had returned.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test is not short")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crash.db")
	var acknowledged []string
	const rounds = 10
	for round := range rounds {
		cmd, out, stderr := startChild(t, "create", path, fmt.Sprintf("R%02d", round))
		sc := bufio.NewScanner(out)
		var b [1]byte
		rand.Read(b[:])
		killAfter := 20 + int(b[0]) // 20 to 275 acknowledged creates
		n := 0
		for sc.Scan() {
			acknowledged = append(acknowledged, sc.Text())
			n++
			if n == killAfter {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
			}
		}
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child ended with %v, not SIGKILL; stderr: %s", round, err, stderr)
		}
		t.Logf("round %d: killed after %d acknowledged creates (%d read)", round, killAfter, n)

		coll, err := openRecords(ctx, path)
		if err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		var sdb *sql.DB
		if !coll.As(&sdb) {
			t.Fatal("As(**sql.DB) failed")
		}
		var integrity string
		if err := sdb.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&integrity); err != nil || integrity != "ok" {
			t.Fatalf("round %d: integrity_check = %q, %v", round, integrity, err)
		}
		// Every stored record decodes, and every acknowledged one is there.
		stored := map[string]bool{}
		it := coll.Query().Get(ctx)
		for {
			var r record
			err := it.Next(ctx, &r)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("round %d: a stored record does not decode: %v", round, err)
			}
			if len(r.Sealed) != 100 || r.Scope != "proj/env" || r.DocstoreRevision == nil {
				t.Fatalf("round %d: record %s is incomplete: %+v", round, r.ID, r)
			}
			stored[r.ID] = true
		}
		for _, id := range acknowledged {
			if !stored[id] {
				t.Fatalf("round %d: acknowledged record %s is missing", round, id)
			}
		}
		if err := coll.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d rounds, %d acknowledged creates, all present", rounds, len(acknowledged))
}

// childIncrement adds 1 to counters with revision-checked read-modify-write
// (Get, then Replace carrying the revision), retrying on FailedPrecondition.
// Each write signs the counter with arg's name. It prints "ready" once the
// file is open, starts when it reads a line on stdin, and ends by printing
// "RETRIES SEEN": how many of its writes were stale (FailedPrecondition)
// and how many of its reads found the other process's signature. Any other
// error ends it with status 1.
func childIncrement(path, arg string) int {
	ctx := context.Background()
	count, name, _ := strings.Cut(arg, ",")
	n, _ := strconv.Atoi(count)
	coll, err := openRecords(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 1
	}
	defer coll.Close()
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		fmt.Fprintln(os.Stderr, "wait for the start:", err)
		return 1
	}
	retries, seen := 0, 0
	for i := range n {
		id := fmt.Sprintf("proj/env/C%d", i%counters)
		for {
			r := &record{ID: id}
			if err := coll.Get(ctx, r); err != nil {
				fmt.Fprintln(os.Stderr, "get:", err)
				return 1
			}
			if r.Description != name && r.Description != unsigned {
				seen++
			}
			r.Version++
			r.Description = name
			// Stay between the read and the write a little, so the other
			// process's writes land in that window.
			time.Sleep(time.Duration(mrand.IntN(500)) * time.Microsecond)
			err := coll.Replace(ctx, r)
			if err == nil {
				break
			}
			if gcerrors.Code(err) != gcerrors.FailedPrecondition {
				fmt.Fprintln(os.Stderr, "replace:", err)
				return 1
			}
			retries++
		}
	}
	fmt.Println(retries, seen)
	return 0
}

// unsigned is a counter's description before any child wrote it.
const unsigned = "a secret used by the tests"

const counters = 2

// TestTwoProcessesNoLostUpdate runs two processes incrementing the same
// counters in one SQLite file at once. They must really race: each must
// have read the other's writes and had writes refused as stale (the
// revision check at work), and no increment may be lost.
func TestTwoProcessesNoLostUpdate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	coll, err := openRecords(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	for i := range counters {
		r := newRecord("proj/env", fmt.Sprintf("C%d", i))
		r.Version = 0
		if r.Description != unsigned {
			t.Fatalf("newRecord's description is %q, not %q", r.Description, unsigned)
		}
		if err := coll.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	const perProcess = 300
	type child struct {
		cmd    *exec.Cmd
		start  io.WriteCloser
		out    *bufio.Scanner
		stderr *strings.Builder
	}
	var children []child
	for i := range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envChild+"=increment", envDB+"="+path, fmt.Sprintf("%s=%d,child%d", envArg, perProcess, i))
		start, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill() // a no-op once it has exited
		children = append(children, child{cmd, start, bufio.NewScanner(out), &stderr})
	}
	// Both have the file open before either starts writing.
	for i, c := range children {
		if !c.out.Scan() || c.out.Text() != "ready" {
			t.Fatalf("child %d did not get ready: %q, %v; stderr: %s", i, c.out.Text(), c.out.Err(), c.stderr)
		}
	}
	for _, c := range children {
		if _, err := io.WriteString(c.start, "go\n"); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range children {
		var last string
		for c.out.Scan() {
			last = c.out.Text()
		}
		if err := c.cmd.Wait(); err != nil {
			t.Fatalf("child %d: %v; stderr: %s", i, err, c.stderr)
		}
		if s := strings.ToLower(c.stderr.String()); strings.Contains(s, "locked") || strings.Contains(s, "busy") {
			t.Fatalf("child %d saw a locking error: %s", i, c.stderr)
		}
		var retries, seen int
		if _, err := fmt.Sscan(last, &retries, &seen); err != nil {
			t.Fatalf("child %d printed %q: %v", i, last, err)
		}
		t.Logf("child %d: %d increments, %d retries after FailedPrecondition, %d reads of the other's write", i, perProcess, retries, seen)
		if retries == 0 || seen == 0 {
			t.Errorf("child %d did not race the other (%d stale writes, %d reads of the other's write); the test proves nothing", i, retries, seen)
		}
	}
	total := 0
	for i := range counters {
		r := &record{ID: fmt.Sprintf("proj/env/C%d", i)}
		if err := coll.Get(ctx, r); err != nil {
			t.Fatal(err)
		}
		if want := 2 * perProcess / counters; r.Version != want {
			t.Errorf("counter %d = %d, want %d", i, r.Version, want)
		}
		total += r.Version
	}
	if total != 2*perProcess {
		t.Errorf("total = %d, want %d", total, 2*perProcess)
	}
}
