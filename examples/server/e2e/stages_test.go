package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/google/go-cmp/cmp"

	"github.com/coffer-go/coffer"
)

// features are the parts of the API the server offers (GET /api/session).
type features struct {
	Versions, Check, Generate bool
}

// serverFeatures asks the server which features it offers.
func serverFeatures(t *testing.T, srv *server) features {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+"api/session", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct{ Features features }
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	t.Logf("server features: %+v", s.Features)
	return s.Features
}

// historyLabel is the label of a row's history button, when the server
// keeps history.
func historyLabel(key string, f features) []string {
	if f.Versions {
		return []string{"History of " + key}
	}
	return nil
}

// firstAction is the label of a row's first action button.
func firstAction(key string, f features) string {
	if f.Versions {
		return "History of " + key
	}
	return "Edit " + key
}

// focused returns the aria-label (or id) of the focused element.
func focused(b *browser) string {
	return eval[string](b, `(e => e.getAttribute('aria-label') || e.id)(document.activeElement)`)
}

// similarKeyStage adds a key that differs from DATABASE_URL only in case:
// the page warns before creating it and stores nothing until the user
// confirms; changing the key withdraws the warning.
func similarKeyStage(t *testing.T, b *browser, dev *coffer.Manager) {
	before, err := dev.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b.do("add a similar key",
		chromedp.Click(chromedp.CSS("#add")),
		chromedp.WaitVisible(chromedp.CSS("#add-dialog")),
		chromedp.SendKeys(chromedp.CSS("#add-key"), "Database_Url"),
		chromedp.SendKeys(chromedp.CSS("#add-value"), "some-value"),
		chromedp.Click(chromedp.CSS("#add-form button[type=submit]")),
		waitFor(`!document.querySelector('#add-key-warning').hidden`),
	)
	type warning struct{ Text, Button, Focus string }
	w := eval[warning](b, `({Text: document.querySelector('#add-key-warning').textContent,
		Button: document.querySelector('#add-form button[type=submit]').textContent, Focus: document.activeElement.id})`)
	want := warning{
		Text:   "DATABASE_URL already exists; keys are case-sensitive, so Database_Url would be a separate secret. Create it anyway?",
		Button: "Create Anyway", Focus: "add-key",
	}
	if diff := cmp.Diff(want, w); diff != "" {
		t.Errorf("similar-key warning (-want +got):\n%s", diff)
	}
	b.screenshot("add-dialog-similar-key.png")
	b.do("change the key",
		chromedp.SendKeys(chromedp.CSS("#add-key"), "_2"),
		waitFor(`document.querySelector('#add-key-warning').hidden && document.querySelector('#add-form button[type=submit]').textContent === 'Create Secret'`),
	)
	// The typed value leaves the page as the dialog closes, not a task later
	// when the close event runs: read it in the same task as the click.
	if got := eval[string](b, `(() => { document.querySelector('#add-dialog [data-close]').click();
		return document.querySelector('#add-value').value; })()`); got != "" {
		t.Errorf("the value field holds %q right after Cancel, want it empty", got)
	}
	b.do("wait for the dialog to close", chromedp.WaitNotVisible(chromedp.CSS("#add-dialog")))
	after, err := dev.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("the warned add changed the store (-before +after):\n%s", diff)
	}
}

// panelsStage opens the Help panel (the security best practices and the
// troubleshooting of a secret that does not work) and the Access panel
// (token names, roles and environments; never a token).
func panelsStage(t *testing.T, b *browser) {
	b.do("open the help panel",
		chromedp.Click(chromedp.CSS("#show-help")),
		chromedp.WaitVisible(chromedp.CSS("#help-panel")),
	)
	help := eval[string](b, `document.querySelector('#help-panel').innerText`)
	for _, want := range []string{"Security best practices", "Rotate secrets regularly", "Secret not working?", "Keys are case-sensitive"} {
		if !strings.Contains(help, want) {
			t.Errorf("the help panel lacks %q", want)
		}
	}
	if got := eval[string](b, `document.querySelector('#show-help').getAttribute('aria-expanded') + ' ' + document.activeElement.id`); got != "true help-title" {
		t.Errorf("after opening help: aria-expanded and focus = %q", got)
	}
	b.screenshot("help-panel.png")
	b.do("close the help panel",
		chromedp.Click(chromedp.CSS(`[data-close-panel="help-panel"]`)),
		chromedp.WaitNotVisible(chromedp.CSS("#help-panel")),
	)
	if got := focused(b); got != "show-help" {
		t.Errorf("focus after closing help is on %q, want the Help button", got)
	}

	b.do("open the access panel",
		chromedp.Click(chromedp.CSS("#show-access")),
		chromedp.WaitVisible(chromedp.CSS("#access-panel")),
		waitFor(`document.querySelectorAll('#access-body tr').length === 2`),
	)
	rows := eval[[][]string](b, `[...document.querySelectorAll('#access-body tr')].map(r => [...r.cells].map(c => c.textContent.trim()))`)
	if diff := cmp.Diff([][]string{{"admin", "admin", "All environments"}, {"vera", "viewer", "production"}}, rows); diff != "" {
		t.Errorf("access rows (-want +got):\n%s", diff)
	}
	if eval[bool](b, fmt.Sprintf(`document.documentElement.outerHTML.includes(%q) || document.documentElement.outerHTML.includes(%q)`, testToken, viewerToken)) {
		t.Error("a token is in the page")
	}
	b.screenshot("access-panel.png")
	b.do("close the access panel",
		chromedp.Click(chromedp.CSS("#show-access")),
		chromedp.WaitNotVisible(chromedp.CSS("#access-panel")),
	)
}

// narrowStage shows the page 390 px wide (a phone): nothing needs
// sideways scrolling, Created and Actions are on screen, and a long key
// wraps only at its underscores.
func narrowStage(t *testing.T, b *browser, st *store) {
	const longKey = "PAYMENT_PROVIDER_WEBHOOK_SIGNING_SECRET_FOR_EUROPE"
	st.seed("production", longKey, "whsec_0123456789", "Verifies the payment provider's webhook calls to the checkout service")
	b.do("narrow the window",
		chromedp.EmulateViewport(390, 844),
		chromedp.Evaluate[chromedp.Void](`(s => { s.value = 'staging'; s.dispatchEvent(new Event('change')); })(document.querySelector('#env'))`),
		chromedp.Evaluate[chromedp.Void](`(s => { s.value = 'production'; s.dispatchEvent(new Event('change')); })(document.querySelector('#env'))`),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-key="`+longKey+`"]`)),
	)
	type layout struct {
		ScrollWidth, ViewportWidth int
		Offscreen                  []string // cells or buttons that reach past the right edge
	}
	got := eval[layout](b, `({ScrollWidth: document.documentElement.scrollWidth, ViewportWidth: window.innerWidth,
		Offscreen: [...document.querySelectorAll('#secrets-body td, #secrets-body button:not([hidden]), header *')]
			.filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
			.map(e => e.className || e.tagName)})`)
	if diff := cmp.Diff(layout{ScrollWidth: 390, ViewportWidth: 390, Offscreen: []string{}}, got); diff != "" {
		t.Errorf("layout at 390 px (-want +got):\n%s", diff)
	}
	for _, sel := range []string{".created", ".actions button:not([hidden])"} {
		if !eval[bool](b, fmt.Sprintf(`(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.left >= 0 && r.right <= window.innerWidth; })(document.querySelector('tr[data-key=%q] %s'))`, longKey, sel)) {
			t.Errorf("%s of the long key's row is not on screen at 390 px", sel)
		}
	}
	// Where the key's text breaks into lines: each break must come right
	// after an underscore.
	breaks := eval[[]string](b, fmt.Sprintf(`(el => {
		const out = []; let top = null, prev = '';
		const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
		for (let n = walker.nextNode(); n; n = walker.nextNode()) {
			for (let i = 0; i < n.data.length; i++) {
				const r = document.createRange(); r.setStart(n, i); r.setEnd(n, i + 1);
				const t = r.getClientRects()[0].top;
				if (top !== null && t > top + 2) { out.push(prev + '|' + n.data[i]); }
				top = t; prev = n.data[i];
			}
		}
		return out; })(document.querySelector('tr[data-key=%q] .key'))`, longKey))
	if len(breaks) == 0 {
		t.Errorf("the long key does not wrap at 390 px (the test would prove nothing)")
	}
	for _, br := range breaks {
		if !strings.HasPrefix(br, "_|") {
			t.Errorf("the long key breaks inside a word at %q", br)
		}
	}
	b.screenshot("narrow-390.png")
	b.do("widen the window", chromedp.EmulateViewport(1280, 800))
}

// viewerStage signs out and in again as a viewer of production only: the
// page offers no Add, Edit or Delete, and only production.
func viewerStage(t *testing.T, b *browser) {
	b.do("sign out",
		chromedp.Click(chromedp.CSS("#signout")),
		chromedp.WaitVisible(chromedp.CSS("#signin-token")),
		chromedp.SendKeys(chromedp.CSS("#signin-token"), viewerToken),
		chromedp.Click(chromedp.CSS("#signin-form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`#secrets-body tr[data-key="DATABASE_URL"]`)),
	)
	type view struct {
		Envs                      []string
		Add, Edit, Delete, Access bool
		SignedInAs                string
	}
	got := eval[view](b, `({Envs: [...document.querySelectorAll('#env option')].map(o => o.value),
		Add: !document.querySelector('#add').hidden, Access: !document.querySelector('#show-access').hidden,
		Edit: document.querySelectorAll('#secrets-body .edit:not([hidden])').length > 0,
		Delete: document.querySelectorAll('#secrets-body .delete:not([hidden])').length > 0,
		SignedInAs: document.querySelector('#signed-in-as').textContent})`)
	if diff := cmp.Diff(view{Envs: []string{"production"}, SignedInAs: "Signed in as vera (viewer)"}, got); diff != "" {
		t.Errorf("the viewer's page (-want +got):\n%s", diff)
	}
	b.screenshot("viewer.png")
}

// healthStage opens the Health panel: the findings of Check across the
// served environments, as the library reports them, and no value.
func healthStage(t *testing.T, b *browser, st *store) {
	findings, err := st.env("development").Check(context.Background(), &coffer.CheckOptions{Environments: []string{"development", "staging", "production"}})
	if err != nil {
		t.Fatal(err)
	}
	var want [][]string
	for _, f := range findings {
		want = append(want, []string{f.Environment, f.Key, f.Message})
	}
	if len(want) == 0 {
		t.Fatal("no findings to show: the stage would prove nothing")
	}
	b.do("open the health panel",
		chromedp.Click(chromedp.CSS("#show-health")),
		chromedp.WaitVisible(chromedp.CSS("#health-panel")),
		waitFor(fmt.Sprintf(`document.querySelectorAll('#health-list li').length === %d`, len(want))),
	)
	got := eval[[][]string](b, `[...document.querySelectorAll('#health-list li')].map(li =>
		[li.querySelector('.env').textContent, (li.querySelector('.key') || {textContent: ''}).textContent, li.querySelector('.message').textContent])`)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("health findings (-want +got):\n%s", diff)
	}
	if summary := eval[string](b, `document.querySelector('#health-summary').textContent`); !strings.HasSuffix(summary, "in development, staging, production:") {
		t.Errorf("health summary = %q", summary)
	}
	b.screenshot("health-panel.png")
	b.do("close the health panel",
		chromedp.Click(chromedp.CSS(`[data-close-panel="health-panel"]`)),
		chromedp.WaitNotVisible(chromedp.CSS("#health-panel")),
	)
}

// generateStage adds a secret with "Generate": the value field is disabled,
// the server stores a 32-byte random value, and the page never holds it.
func generateStage(t *testing.T, b *browser, dev *coffer.Manager) {
	b.do("add with a generated value",
		chromedp.Click(chromedp.CSS("#add")),
		chromedp.WaitVisible(chromedp.CSS("#add-dialog")),
		chromedp.SendKeys(chromedp.CSS("#add-key"), "WEBHOOK_SIGNING_SECRET"),
		chromedp.Click(chromedp.CSS("#add-generate")),
		chromedp.SendKeys(chromedp.CSS("#add-description"), "Signs outgoing webhooks"),
	)
	if !eval[bool](b, `document.querySelector('#add-value').disabled && document.querySelector('#add-generate').checked`) {
		t.Error("with Generate checked, the value field is not disabled")
	}
	b.screenshot("add-dialog-generate.png")
	b.do("create the generated secret",
		chromedp.Click(chromedp.CSS("#add-form button[type=submit]")),
		chromedp.WaitNotVisible(chromedp.CSS("#add-dialog")),
		chromedp.WaitVisible(chromedp.CSS(`#secrets-body tr[data-key="WEBHOOK_SIGNING_SECRET"]`)),
	)
	v, err := dev.Reveal(context.Background(), "WEBHOOK_SIGNING_SECRET")
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 43 {
		t.Errorf("the generated value is %d characters, want 43 (32 bytes, base64url)", len(v))
	}
	if eval[bool](b, fmt.Sprintf(`document.documentElement.outerHTML.includes(%q) || [...document.querySelectorAll('input')].some(e => e.value.includes(%q))`, string(v), string(v))) {
		t.Error("the generated value is in the page")
	}
}

// historyStage gives SESSION_SIGNING_KEY two more values through the
// library, opens its History (versions, when, who, current), restores
// version 1 and checks through the library that version 1's value is
// current again, as a new version.
func historyStage(t *testing.T, b *browser, dev *coffer.Manager) {
	ctx := coffer.WithActor(context.Background(), "rotation-job")
	for _, v := range []coffer.Value{"second-signing-key-0123456789", "third-signing-key-0123456789"} {
		if _, err := dev.Update(ctx, "SESSION_SIGNING_KEY", coffer.Change{Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	b.do("open the history",
		chromedp.Click(chromedp.CSS(`button[aria-label="History of SESSION_SIGNING_KEY"]`)),
		chromedp.WaitVisible(chromedp.CSS("#history-dialog")),
		waitFor(`document.querySelectorAll('#history-body tr').length === 3`),
	)
	rows := func() [][]string {
		return eval[[][]string](b, `[...document.querySelectorAll('#history-body tr')].map(r => [r.cells[0].textContent, r.cells[2].textContent, r.cells[3].textContent.trim()])`)
	}
	if diff := cmp.Diff([][]string{{"v3", "rotation-job", "Current"}, {"v2", "rotation-job", "Restore"}, {"v1", "seed", "Restore"}}, rows()); diff != "" {
		t.Errorf("history rows (-want +got):\n%s", diff)
	}
	if got := eval[string](b, `(e => e.closest('dialog') ? e.closest('dialog').id + ' ' + e.textContent.trim() : e.tagName)(document.activeElement)`); got != "history-dialog Close" {
		t.Errorf("focus in the history dialog is on %q, want its Close button", got)
	}
	if !eval[bool](b, `(d => [...document.querySelectorAll('#history-body td, #history-table th')].every(c => {
		const r = c.getBoundingClientRect(); return r.left >= d.left - 0.5 && r.right <= d.right + 0.5; }))(document.querySelector('#history-dialog').getBoundingClientRect())`) {
		t.Error("a column of the history table is outside the dialog")
	}
	b.screenshot("history-dialog.png")
	b.do("restore version 1",
		chromedp.Click(chromedp.CSS(`button[aria-label="Restore version 1 of SESSION_SIGNING_KEY"]`)),
		waitFor(`document.querySelectorAll('#history-body tr').length === 4`),
	)
	if diff := cmp.Diff([][]string{{"v4", "admin", "Current"}, {"v3", "rotation-job", "Restore"}, {"v2", "rotation-job", "Restore"}, {"v1", "seed", "Restore"}}, rows()); diff != "" {
		t.Errorf("history rows after the restore (-want +got):\n%s", diff)
	}
	v, err := dev.Reveal(context.Background(), "SESSION_SIGNING_KEY")
	if err != nil || v != "f1d2d2f924e986ac86fdf7b36c94bcdf" {
		t.Errorf("after restoring version 1 the library does not return version 1's value (err %v)", err)
	}
	if s, err := dev.Get(context.Background(), "SESSION_SIGNING_KEY"); err != nil || s.Version != 4 || s.UpdatedBy != "admin" {
		t.Errorf("after the restore: %+v, %v; want version 4 by admin", s, err)
	}
	b.screenshot("history-restored.png")
	b.do("close the history",
		chromedp.KeyEvent(kb.Escape),
		chromedp.WaitNotVisible(chromedp.CSS("#history-dialog")),
		waitFor(`document.activeElement.getAttribute('aria-label') === 'History of SESSION_SIGNING_KEY'`),
	)
}

// conflictStage opens the edit dialog, lets "someone else" change the
// secret through the library meanwhile, and saves: the page says plainly
// that the secret changed and saves nothing; a second save, made knowingly,
// applies over the new version.
func conflictStage(t *testing.T, b *browser, dev *coffer.Manager) {
	b.do("open the edit dialog",
		chromedp.Click(chromedp.CSS(`button[aria-label="Edit DATABASE_URL"]`)),
		chromedp.WaitVisible(chromedp.CSS("#edit-dialog")),
		chromedp.SendKeys(chromedp.CSS("#edit-value"), "postgres://app:mine@db.internal:5432/app"),
	)
	theirs := coffer.Value("postgres://app:theirs@db.internal:5432/app")
	if _, err := dev.Update(coffer.WithActor(context.Background(), "bob"), "DATABASE_URL", coffer.Change{Value: theirs}); err != nil {
		t.Fatal(err)
	}
	b.do("save over a changed secret",
		chromedp.Click(chromedp.CSS("#edit-form button[type=submit]")),
		waitFor(`!document.querySelector('#edit-dialog .form-error').hidden`),
	)
	msg := eval[string](b, `document.querySelector('#edit-dialog .form-error').textContent`)
	want := "Someone else (bob) changed DATABASE_URL while you were editing it; it is now at version 2. Your change was not saved. " +
		"Check the new state, then select Update Secret again to save yours over it."
	if msg != want {
		t.Errorf("conflict message = %q\nwant %q", msg, want)
	}
	if v, err := dev.Reveal(context.Background(), "DATABASE_URL"); err != nil || v != theirs {
		t.Errorf("the stale save changed the value (err %v)", err)
	}
	if got := focused(b); got != "edit-value" {
		t.Errorf("focus after the conflict is on %q, want the value field", got)
	}
	b.screenshot("edit-dialog-conflict.png")
	b.do("save again, knowingly",
		chromedp.Click(chromedp.CSS("#edit-form button[type=submit]")),
		chromedp.WaitNotVisible(chromedp.CSS("#edit-dialog")),
	)
	if v, err := dev.Reveal(context.Background(), "DATABASE_URL"); err != nil || v != "postgres://app:mine@db.internal:5432/app" {
		t.Errorf("the second save did not apply (err %v)", err)
	}
	if s, err := dev.Get(context.Background(), "DATABASE_URL"); err != nil || s.Version != 3 {
		t.Errorf("after the second save: version %d, %v; want 3", s.Version, err)
	}
}
