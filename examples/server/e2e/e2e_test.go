package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/google/go-cmp/cmp"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/internal/testengine"
)

// screenshotDir is where TestBrowser saves its screenshots (git-ignored).
const screenshotDir = "testdata/screenshots"

// browserFlags are the flags the browser runs with on top of chromedp's
// defaults: headless, and no attempt to reach hosts this machine cannot.
func browserFlags(execPath, userDataDir string) []chromedp.ExecAllocatorOption {
	return append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(userDataDir),
		chromedp.WindowSize(1280, 800),
		// Dates on the page are formatted in the browser's locale and zone.
		chromedp.Flag("lang", "en-US"),
		chromedp.Env("TZ=UTC", "LANG=en_US.UTF-8"),
	)
}

// browser drives one tab and records the page's script errors.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	problems []string // uncaught exceptions, console errors, CSP violations
}

// do runs the steps of one stage, bounded so a page that never reaches a
// state fails the test instead of hanging it.
func (b *browser) do(stage string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v\n%s", stage, err, b.describe())
	}
}

// describe returns what the page shows, to explain a failed stage, and
// saves a screenshot of it.
func (b *browser) describe() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
		_ = os.WriteFile(filepath.Join(screenshotDir, "failure.png"), png, 0o644)
	}
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		return "(the page could not be read: " + err.Error() + ")"
	}
	return "the page shows:\n" + text
}

// eval evaluates a JavaScript expression and decodes its value into T.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor waits until a JavaScript expression is truthy.
func waitFor(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(15*time.Second))
}

// clearField empties an input as select-all-and-delete would. (chromedp's
// Clear resets only the value attribute, not what was typed.)
func clearField(selector string) chromedp.Action[chromedp.Void] {
	sel, _ := json.Marshal(selector)
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		`(e => { e.value = ''; e.dispatchEvent(new Event('input', {bubbles: true})); })(document.querySelector(%s))`, sel))
}

// screenshot saves a PNG of the viewport as name.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(screenshotDir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: examples/server/e2e/%s", path)
}

func (b *browser) listen(ev any) {
	var problem string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		problem = "uncaught exception: " + ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			problem += " " + ev.ExceptionDetails.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
			problem = fmt.Sprintf("console.%s called", ev.Type)
		}
	case *cdplog.EventEntryAdded:
		// Failed requests (the 401s and 422s the test provokes) are
		// logged by the network source; anything else at error level —
		// a CSP violation, a script error — is a problem.
		if ev.Entry.Level == cdplog.EntryLevelError && ev.Entry.Source != cdplog.EntrySourceNetwork {
			problem = fmt.Sprintf("%s error: %s", ev.Entry.Source, ev.Entry.Text)
		}
	}
	if problem != "" {
		b.mu.Lock()
		b.problems = append(b.problems, problem)
		b.mu.Unlock()
	}
}

// rowTexts returns the table's rows as the text of their first four cells.
const rowTexts = `[...document.querySelectorAll('#secrets-body tr')].map(r => [...r.cells].slice(0, 4).map(c => c.textContent.trim()))`

// TestBrowser drives the Secrets page in headless Chromium against
// cofferhttp's handler over a SQLite store: an empty and a wrong token at
// sign-in, add a secret (focus moves to its row), see it listed without its
// value, edit its description keeping the value, see "No changes to save",
// see "Secret key is required", delete with confirmation (focus moves to the
// next row), the similar-key warning, the Help and Access panels, Generate,
// the Health panel, History with Restore, the check-and-set conflict,
// switch environments, the page at 390 px, and a viewer's page. Each effect
// is checked through the library, on a Manager of the test's own over the
// same store; screenshots of each stage are saved in testdata/screenshots.
// Any script error or CSP violation fails the test, and so does the secret
// value in anything the server logged.
func TestBrowser(t *testing.T) {
	chromium := testengine.Env(t, "COFFER_CHROMIUM")
	const canary = "sk_live_CANARY_7d41e9a0c3b2"
	start := time.Now()

	st := newStore(t)
	st.seed("development", "DATABASE_URL", "postgres://app:pw@db.internal:5432/app", "Primary database (read-write)")
	st.seed("development", "SESSION_SIGNING_KEY", "f1d2d2f924e986ac86fdf7b36c94bcdf", "Signs session cookies")
	st.seed("production", "DATABASE_URL", "postgres://app:pw@prod-db.internal:5432/app", "Primary database")
	dev := st.env("development")
	// Registered before startServer's own cleanup, so it runs after that
	// one has stopped the server and its output is complete.
	var srv *server
	t.Cleanup(func() {
		if srv != nil && strings.Contains(srv.Output(), canary) {
			t.Error("the secret value is in the server's output (banner, audit or request log)")
		}
	})
	srv = startServer(t, st)
	features := serverFeatures(t, srv)
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}

	// One bound for the whole run; each stage has its own shorter bound.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, browserFlags(chromium, t.TempDir())...)
	defer cancelAlloc()
	b := &browser{t: t}
	tabCtx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithListener(b.listen))
	defer cancelTab()
	b.ctx = tabCtx
	// The first Do starts the browser; then turn on the Log domain, which
	// reports CSP violations.
	if err := chromedp.Do(tabCtx); err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}
	if _, err := chromedp.Call(tabCtx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, p := range b.problems {
			t.Errorf("the page reported: %s", p)
		}
	})

	// Sign in: a wrong token is refused in the form, the right one opens the table.
	b.do("open the page",
		chromedp.Navigate(srv.URL),
		chromedp.WaitVisible(chromedp.CSS("#signin-token")),
		chromedp.Click(chromedp.CSS("#signin-form button[type=submit]")),
		waitFor(`document.querySelector('#signin-token-error').textContent === 'Access token is required'`),
	)
	if got := eval[string](b, `document.activeElement.id + ' ' + document.querySelector('#signin-token').getAttribute('aria-invalid')`); got != "signin-token true" {
		t.Errorf("after an empty token, focus and aria-invalid = %q, want %q", got, "signin-token true")
	}
	b.screenshot("sign-in-empty.png")
	b.do("a wrong token",
		chromedp.SendKeys(chromedp.CSS("#signin-token"), "not-the-token-0123456789"),
		chromedp.Click(chromedp.CSS("#signin-form button[type=submit]")),
		waitFor(`document.querySelector('#signin-token-error').textContent === 'That access token is not valid'`),
	)
	b.screenshot("sign-in.png")
	b.do("sign in",
		clearField("#signin-token"),
		chromedp.SendKeys(chromedp.CSS("#signin-token"), testToken),
		chromedp.Click(chromedp.CSS("#signin-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`#secrets-body tr[data-key="DATABASE_URL"]`)),
	)
	if got := eval[string](b, `document.title + '|' + document.querySelector('#app h1').textContent`); got != "Secrets|Secrets" {
		t.Errorf("title and heading = %q", got)
	}
	if got := eval[string](b, `document.querySelector('#values-notice').textContent.trim()`); got != "Secret values are never displayed in the table for security reasons. They remain encrypted in storage." {
		t.Errorf("notice = %q", got)
	}
	if diff := cmp.Diff([]string{"Key", "Description", "Type", "Created", "Actions"},
		eval[[]string](b, `[...document.querySelectorAll('#secrets thead th')].map(th => th.textContent.trim())`)); diff != "" {
		t.Errorf("table columns (-want +got):\n%s", diff)
	}

	// Add a secret.
	b.do("open the add dialog",
		chromedp.Click(chromedp.CSS("#add")),
		chromedp.WaitVisible(chromedp.CSS("#add-dialog")),
	)
	if got := eval[string](b, `document.activeElement.id`); got != "add-key" {
		t.Errorf("focus in the add dialog is on %q, want add-key", got)
	}
	if got := eval[string](b, `document.querySelector('#add-value').type`); got != "password" {
		t.Errorf("Secret Value field type = %q, want password", got)
	}
	b.do("fill the add dialog",
		chromedp.SendKeys(chromedp.CSS("#add-key"), "STRIPE_API_KEY"),
		chromedp.SendKeys(chromedp.CSS("#add-value"), canary),
		chromedp.SendKeys(chromedp.CSS("#add-description"), "Payments (test mode)"),
	)
	b.screenshot("add-dialog.png")
	b.do("create the secret",
		chromedp.Click(chromedp.CSS("#add-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`#secrets-body tr[data-key="STRIPE_API_KEY"]`)),
		chromedp.WaitNotVisible(chromedp.CSS("#add-dialog")),
	)
	if v, err := dev.Reveal(context.Background(), "STRIPE_API_KEY"); err != nil || string(v) != canary {
		t.Fatalf("the library does not hold the typed value: %v", err)
	}
	// The server stamps what it creates with its own clock; the page shows
	// that date in the browser's locale and zone (en-US, UTC).
	created, err := dev.Get(context.Background(), "STRIPE_API_KEY")
	if err != nil {
		t.Fatal(err)
	}
	wantRows := [][]string{
		{"DATABASE_URL", "Primary database (read-write)", "Connection string", "Nov 25, 2026"},
		{"SESSION_SIGNING_KEY", "Signs session cookies", "Encryption key", "Nov 25, 2026"},
		{"STRIPE_API_KEY", "Payments (test mode)", "API key", created.CreatedAt.UTC().Format("Jan 2, 2006")},
	}
	if diff := cmp.Diff(wantRows, eval[[][]string](b, rowTexts)); diff != "" {
		t.Errorf("table rows (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Edit STRIPE_API_KEY", "Delete STRIPE_API_KEY"},
		eval[[]string](b, `[...document.querySelectorAll('tr[data-key="STRIPE_API_KEY"] button:not([hidden])')].map(e => e.getAttribute('aria-label'))`)[len(historyLabel("STRIPE_API_KEY", features)):]); diff != "" {
		t.Errorf("action labels (-want +got):\n%s", diff)
	}
	// Focus is on the new secret's row, not back on Add Secret.
	if got, want := eval[string](b, `document.activeElement.getAttribute('aria-label')`), firstAction("STRIPE_API_KEY", features); got != want {
		t.Errorf("focus after the add is on %q, want %q", got, want)
	}
	canaryJS, _ := json.Marshal(canary)
	valueInDOM := fmt.Sprintf(`(() => { const c = %s;
		return document.documentElement.outerHTML.includes(c) || document.body.innerText.includes(c) ||
			[...document.querySelectorAll('input, textarea, select')].some(e => e.value.includes(c)); })()`, canaryJS)
	if eval[bool](b, valueInDOM) {
		t.Error("the secret value is in the page after it was added")
	}
	b.screenshot("table.png")

	// Edit the description with an empty value: the value stays.
	b.do("open the edit dialog",
		chromedp.Click(chromedp.CSS(`button[aria-label="Edit STRIPE_API_KEY"]`)),
		chromedp.WaitVisible(chromedp.CSS("#edit-dialog")),
	)
	type editForm struct {
		Key, Value, Description, ValueType, Focus string
		ReadOnly                                  bool
	}
	readEdit := `({Key: document.querySelector('#edit-key').value, ReadOnly: document.querySelector('#edit-key').readOnly,
		Value: document.querySelector('#edit-value').value, ValueType: document.querySelector('#edit-value').type,
		Description: document.querySelector('#edit-description').value, Focus: document.activeElement.id})`
	if diff := cmp.Diff(editForm{Key: "STRIPE_API_KEY", ReadOnly: true, ValueType: "password", Description: "Payments (test mode)", Focus: "edit-value"},
		eval[editForm](b, readEdit)); diff != "" {
		t.Errorf("edit dialog on open (-want +got):\n%s", diff)
	}
	b.do("change the description",
		clearField("#edit-description"),
		chromedp.SendKeys(chromedp.CSS("#edit-description"), "Payments (live)"),
	)
	b.screenshot("edit-dialog.png")
	b.do("update the secret",
		chromedp.Click(chromedp.CSS("#edit-form button[type=submit]")),
		chromedp.WaitNotVisible(chromedp.CSS("#edit-dialog")),
		waitFor(`document.querySelector('tr[data-key="STRIPE_API_KEY"] .description').textContent === 'Payments (live)'`),
	)
	if got := eval[string](b, `document.activeElement.getAttribute('aria-label')`); got != "Edit STRIPE_API_KEY" {
		t.Errorf("focus after the save is on %q, want the row's edit button", got)
	}
	got, err := dev.Get(context.Background(), "STRIPE_API_KEY")
	if err != nil || got.Description != "Payments (live)" || got.Version != 1 {
		t.Errorf("after the edit: %+v, %v; want description %q at version 1", got, err, "Payments (live)")
	}
	if v, err := dev.Reveal(context.Background(), "STRIPE_API_KEY"); err != nil || string(v) != canary {
		t.Errorf("the edit with an empty value changed the value (err %v)", err)
	}

	// An edit with nothing changed says so; Escape closes the dialog and
	// focus returns to the row's edit button.
	b.do("submit an unchanged edit",
		chromedp.Click(chromedp.CSS(`button[aria-label="Edit STRIPE_API_KEY"]`)),
		chromedp.WaitVisible(chromedp.CSS("#edit-dialog")),
		chromedp.Click(chromedp.CSS("#edit-form button[type=submit]")),
		waitFor(`(e => !e.hidden && e.textContent === 'No changes to save')(document.querySelector('#edit-dialog .form-error'))`),
	)
	b.screenshot("edit-dialog-no-changes.png")
	b.do("close with Escape",
		chromedp.KeyEvent(kb.Escape),
		chromedp.WaitNotVisible(chromedp.CSS("#edit-dialog")),
	)
	if got := eval[string](b, `document.activeElement.getAttribute('aria-label')`); got != "Edit STRIPE_API_KEY" {
		t.Errorf("focus after Escape is on %q, want the edit button", got)
	}

	// An empty key is refused with the page's words, and nothing is stored.
	before, err := dev.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b.do("add with an empty key",
		chromedp.Click(chromedp.CSS("#add")),
		chromedp.WaitVisible(chromedp.CSS("#add-dialog")),
		chromedp.SendKeys(chromedp.CSS("#add-value"), "some-value"),
		chromedp.Click(chromedp.CSS("#add-form button[type=submit]")),
		waitFor(`document.querySelector('#add-key-error').textContent === 'Secret key is required'`),
	)
	if got := eval[string](b, `document.activeElement.id + ' ' + document.querySelector('#add-key').getAttribute('aria-invalid')`); got != "add-key true" {
		t.Errorf("after the error, focus and aria-invalid = %q, want %q", got, "add-key true")
	}
	b.screenshot("add-dialog-error.png")
	b.do("cancel the add dialog",
		chromedp.Click(chromedp.CSS("#add-dialog [data-close]")),
		chromedp.WaitNotVisible(chromedp.CSS("#add-dialog")),
	)
	after, err := dev.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("the refused add changed the store (-before +after):\n%s", diff)
	}

	// Delete with confirmation.
	b.do("open the delete dialog",
		chromedp.Click(chromedp.CSS(`button[aria-label="Delete STRIPE_API_KEY"]`)),
		chromedp.WaitVisible(chromedp.CSS("#delete-dialog")),
	)
	type deleteDialog struct{ Key, Text, Focus string }
	d := eval[deleteDialog](b, `({Key: document.querySelector('#delete-key').textContent,
		Text: document.querySelector('#delete-dialog').innerText, Focus: document.activeElement.textContent.trim()})`)
	if d.Key != "STRIPE_API_KEY" || d.Focus != "Cancel" ||
		!strings.Contains(d.Text, "Check that this is the secret you intend to delete.") || !strings.Contains(d.Text, "Deletion is permanent") ||
		!strings.Contains(d.Text, "Make sure your project doesn't depend on this secret before you delete it") {
		t.Errorf("delete dialog = %+v; want the key, the confirmation question, the permanence warning and focus on Cancel", d)
	}
	b.screenshot("delete-dialog.png")
	b.do("confirm the deletion",
		chromedp.Click(chromedp.CSS("#delete-confirm")),
		chromedp.WaitNotPresent(chromedp.CSS(`#secrets-body tr[data-key="STRIPE_API_KEY"]`)),
		chromedp.WaitNotVisible(chromedp.CSS("#delete-dialog")),
	)
	if _, err := dev.Get(context.Background(), "STRIPE_API_KEY"); !errors.Is(err, coffer.ErrNotFound) {
		t.Errorf("after the deletion the library says %v, want ErrNotFound", err)
	}
	if diff := cmp.Diff(wantRows[:2], eval[[][]string](b, rowTexts)); diff != "" {
		t.Errorf("table rows after the deletion (-want +got):\n%s", diff)
	}
	// Focus moves to the row before the deleted one (it was the last).
	if got, want := eval[string](b, `document.activeElement.getAttribute('aria-label')`), firstAction("SESSION_SIGNING_KEY", features); got != want {
		t.Errorf("focus after the deletion is on %q, want %q", got, want)
	}

	similarKeyStage(t, b, dev)
	panelsStage(t, b)
	if features.Generate {
		generateStage(t, b, dev)
	}
	if features.Check {
		healthStage(t, b, st)
	}
	if features.Versions {
		historyStage(t, b, dev)
		conflictStage(t, b, dev)
	}

	// The environment selector switches the table to another environment.
	b.do("select production",
		chromedp.Evaluate[chromedp.Void](`(s => { s.value = 'production'; s.dispatchEvent(new Event('change')); })(document.querySelector('#env'))`),
		waitFor(`document.querySelectorAll('#secrets-body tr').length === 1 && location.search === '?env=production'`),
	)
	if diff := cmp.Diff([][]string{{"DATABASE_URL", "Primary database", "Connection string", "Nov 25, 2026"}}, eval[[][]string](b, rowTexts)); diff != "" {
		t.Errorf("production rows (-want +got):\n%s", diff)
	}
	if eval[bool](b, valueInDOM) {
		t.Error("the secret value is in the page at the end")
	}
	narrowStage(t, b, st)
	viewerStage(t, b)
	t.Logf("browser run took %s", time.Since(start).Round(10*time.Millisecond))
}
