// The Secrets page: lists, adds, edits, restores and deletes secrets through
// the server's JSON API. Values go to the server and never come back: no
// answer the page asks for holds one, and the page never writes one into
// the document.
'use strict';

(() => {
  const $ = (selector, root = document) => root.querySelector(selector);

  const TYPE_LABELS = {
    api_key: 'API key',
    connection_string: 'Connection string',
    token: 'Token',
    password: 'Password',
    credential: 'Credential',
    encryption_key: 'Encryption key',
    generic: 'Generic',
  };

  const FINDING_LABELS = {
    not_rotated: 'Not rotated',
    no_description: 'No description',
    naming: 'Naming',
    missing_in_environment: 'Missing',
    shared_value: 'Shared value',
    weak_value: 'Weak value',
    similar_key: 'Similar key',
  };

  // GENERATE_BYTES is the size of a generated value: 32 random bytes.
  const GENERATE_BYTES = 32;

  const dateFormat = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
  const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

  let session = null;   // GET /api/session's answer: who, what they can do, what the server offers
  let csrfToken = '';   // sent back in X-CSRF-Token on every state-changing request
  let environment = ''; // the selected environment
  let secrets = [];     // the table's secrets, for the similar-key warning
  let editing = null;   // the secret the edit dialog is open on
  let deleting = null;  // the secret the delete dialog is open on
  let historyOf = null; // the secret the history dialog is open on
  let opener = null;    // the element that opened the current dialog, to return focus to
  let focusNext = null; // where focus goes when the current dialog closes, after a save
  let similarConfirmed = ''; // the key the user chose to create despite the warning

  class APIError extends Error {
    constructor(status, body) {
      super((body && body.message) || `Request failed (HTTP ${status})`);
      this.status = status;
      this.code = (body && body.code) || 'http_' + status;
      this.problems = (body && Array.isArray(body.errors) && body.errors.length) ? body.errors
        : [{ code: this.code, message: this.message }];
    }
  }

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    if (method !== 'GET' && csrfToken) {
      headers['X-CSRF-Token'] = csrfToken;
    }
    const resp = await fetch(path, init);
    if (resp.status === 204) {
      return null;
    }
    let data = null;
    try {
      data = await resp.json();
    } catch {
      data = null;
    }
    if (!resp.ok) {
      const err = new APIError(resp.status, data);
      if (resp.status === 401 && path !== '/api/session') {
        showSignIn('Your session has ended. Sign in again.');
      }
      throw err;
    }
    return data;
  }

  const envQuery = () => '?env=' + encodeURIComponent(environment);
  const secretsURL = (key, suffix = '') => '/api/secrets' +
    (key === undefined ? '' : '/' + encodeURIComponent(key) + suffix) + envQuery();

  // fold maps keys that differ only in case or underscores to one form, as
  // coffer's "did you mean" does.
  const fold = (key) => key.replace(/_/g, '').toUpperCase();

  // keyNodes renders a key with a line-break opportunity after each
  // underscore, so a long key wraps between its words, never inside one.
  function keyNodes(key) {
    const nodes = [];
    const parts = key.split('_');
    parts.forEach((part, i) => {
      const last = i === parts.length - 1;
      nodes.push(document.createTextNode(last ? part : part + '_'));
      if (!last) {
        nodes.push(document.createElement('wbr'));
      }
    });
    return nodes;
  }

  // ---- sign-in ----

  function showSignIn(message) {
    csrfToken = '';
    session = null;
    // The previous session's listing goes with it: nothing of it stays in
    // the page, and the next sign-in's table is drawn from its own answer.
    secrets = [];
    $('#secrets-body').replaceChildren();
    for (const d of document.querySelectorAll('dialog[open]')) {
      d.close();
    }
    $('#loading').hidden = true;
    $('#app').hidden = true;
    $('#signin').hidden = false;
    const form = $('#signin-form');
    clearErrors(form);
    if (message) {
      showGeneral(form, [message]);
    }
    $('#signin-token').focus();
  }

  $('#signin-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const input = $('#signin-token');
    const button = $('button[type="submit"]', form);
    clearErrors(form);
    if (input.value === '') {
      showErrors(form, new APIError(422, { code: 'token_required', message: 'Access token is required',
        errors: [{ field: 'token', code: 'token_required', message: 'Access token is required' }] }));
      return;
    }
    button.disabled = true;
    try {
      const s = await api('POST', '/api/session', { token: input.value });
      input.value = '';
      await startApp(s);
    } catch (err) {
      showErrors(form, err);
    } finally {
      button.disabled = false;
    }
  });

  $('#signout').addEventListener('click', async () => {
    try {
      await api('DELETE', '/api/session');
    } finally {
      showSignIn('');
    }
  });

  // ---- the page ----

  async function startApp(s) {
    session = s;
    csrfToken = s.csrf_token || '';
    const select = $('#env');
    select.replaceChildren();
    for (const name of s.environments) {
      const option = document.createElement('option');
      option.value = name;
      option.textContent = name;
      select.append(option);
    }
    const wanted = new URLSearchParams(location.search).get('env');
    environment = s.environments.includes(wanted) ? wanted : s.default_environment;
    select.value = environment;
    $('#signed-in-as').textContent = `Signed in as ${s.actor} (${s.role})`;

    const can = s.can;
    $('#add').hidden = !can.write;
    $('#show-health').hidden = !(can.read && s.features.check);
    $('#show-access').hidden = !can.admin;
    $('#reader-notice').hidden = can.read;
    $('#table-card').hidden = !can.read;
    for (const label of document.querySelectorAll('.generate')) {
      label.hidden = !s.features.generate;
    }
    $('#empty').textContent = can.write
      ? 'No secrets in this environment yet. Use Add Secret to create one.'
      : 'No secrets in this environment yet.';
    for (const panel of document.querySelectorAll('.panel')) {
      setPanel(panel.id, false);
    }

    $('#loading').hidden = true;
    $('#signin').hidden = true;
    $('#app').hidden = false;
    await loadSecrets();
    (can.write ? $('#add') : $('#env')).focus();
  }

  $('#env').addEventListener('change', async (event) => {
    environment = event.currentTarget.value;
    history.replaceState(null, '', '?env=' + encodeURIComponent(environment));
    await loadSecrets();
    announce(`Showing the ${environment} environment`);
  });

  async function loadSecrets() {
    const pageError = $('#page-error');
    pageError.hidden = true;
    if (!session.can.read) {
      secrets = [];
      return;
    }
    let list;
    try {
      list = await api('GET', secretsURL());
    } catch (err) {
      if (err.status !== 401) {
        pageError.textContent = err.message;
        pageError.hidden = false;
      }
      return;
    }
    secrets = list.secrets;
    render(list.secrets);
  }

  function render(list) {
    $('#secrets-caption').textContent = `Secrets in the ${environment} environment`;
    const body = $('#secrets-body');
    const template = $('#row-template');
    const can = session.can;
    const rows = list.map((secret) => {
      const row = template.content.firstElementChild.cloneNode(true);
      row.dataset.key = secret.key;
      $('.key', row).replaceChildren(...keyNodes(secret.key));
      $('.description', row).textContent = secret.description || '—';
      $('.type', row).textContent = TYPE_LABELS[secret.type] || secret.type;
      const created = new Date(secret.created_at);
      const time = $('.created', row);
      time.dateTime = secret.created_at;
      time.textContent = dateFormat.format(created);
      time.title = created.toLocaleString();
      const actions = [
        ['history', 'History of', session.features.versions, () => openHistory(secret, historyButton)],
        ['edit', 'Edit', can.write, () => openEdit(secret, editButton)],
        ['delete', 'Delete', can.write, () => openDelete(secret, deleteButton)],
      ];
      const [historyButton, editButton, deleteButton] = actions.map(([cls, verb, shown, open]) => {
        const button = $('.' + cls, row);
        button.hidden = !shown;
        button.setAttribute('aria-label', `${verb} ${secret.key}`);
        button.title = `${verb} ${secret.key}`;
        button.addEventListener('click', open);
        return button;
      });
      row.classList.toggle('no-actions', !actions.some(([, , shown]) => shown));
      return row;
    });
    body.replaceChildren(...rows);
    $('#secrets').hidden = list.length === 0;
    $('#empty').hidden = list.length !== 0;
  }

  // rowButton finds the action button cls of key's row, when it is shown.
  function rowButton(key, cls) {
    const row = $(`#secrets-body tr[data-key="${CSS.escape(key)}"]`);
    const button = row && $('.' + cls, row);
    return button && !button.hidden ? button : null;
  }

  function firstAction(key) {
    return rowButton(key, 'history') || rowButton(key, 'edit') || rowButton(key, 'delete');
  }

  function announce(message) {
    $('#status').textContent = message;
  }

  // ---- panels ----

  const panelButtons = { 'health-panel': '#show-health', 'access-panel': '#show-access', 'help-panel': '#show-help' };

  function setPanel(id, open) {
    $('#' + id).hidden = !open;
    $(panelButtons[id]).setAttribute('aria-expanded', String(open));
  }

  for (const [id, selector] of Object.entries(panelButtons)) {
    $(selector).addEventListener('click', async () => {
      const open = $('#' + id).hidden;
      setPanel(id, open);
      if (!open) {
        return;
      }
      if (id === 'health-panel') {
        await loadHealth();
      } else if (id === 'access-panel') {
        await loadAccess();
      }
      $('h2', $('#' + id)).focus();
    });
  }
  for (const close of document.querySelectorAll('[data-close-panel]')) {
    close.addEventListener('click', () => {
      const id = close.dataset.closePanel;
      setPanel(id, false);
      $(panelButtons[id]).focus();
    });
  }
  for (const heading of document.querySelectorAll('.panel h2')) {
    heading.tabIndex = -1;
  }

  async function loadHealth() {
    const summary = $('#health-summary');
    const listEl = $('#health-list');
    summary.textContent = 'Checking…';
    listEl.replaceChildren();
    let report;
    try {
      report = await api('GET', '/api/check');
    } catch (err) {
      summary.textContent = err.message;
      return;
    }
    const envs = report.environments.join(', ');
    if (report.findings.length === 0) {
      summary.textContent = `No problems found in ${envs}.`;
      return;
    }
    const n = report.findings.length;
    summary.textContent = `${n} ${n === 1 ? 'finding' : 'findings'} in ${envs}:`;
    listEl.replaceChildren(...report.findings.map((f) => {
      const item = document.createElement('li');
      item.dataset.kind = f.kind;
      const badge = document.createElement('span');
      badge.className = 'badge kind';
      badge.textContent = FINDING_LABELS[f.kind] || f.kind;
      const where = document.createElement('span');
      where.className = 'where';
      const env = document.createElement('span');
      env.className = 'env';
      env.textContent = f.environment;
      where.append(env);
      if (f.key) {
        const key = document.createElement('code');
        key.className = 'key';
        key.replaceChildren(...keyNodes(f.key));
        where.append(' ', key);
      }
      const message = document.createElement('span');
      message.className = 'message';
      message.textContent = f.message;
      item.append(badge, where, message);
      return item;
    }));
  }

  async function loadAccess() {
    let access;
    try {
      access = await api('GET', '/api/access');
    } catch (err) {
      $('#access-body').replaceChildren();
      return;
    }
    $('#access-body').replaceChildren(...access.tokens.map((t) => {
      const row = document.createElement('tr');
      const name = document.createElement('td');
      name.textContent = t.name;
      const role = document.createElement('td');
      const badge = document.createElement('span');
      badge.className = 'badge';
      badge.textContent = t.role;
      role.append(badge);
      const envs = document.createElement('td');
      envs.textContent = t.all_environments ? 'All environments' : t.environments.join(', ');
      row.append(name, role, envs);
      return row;
    }));
    $('#access-authenticator').hidden = !access.authenticator;
    $('#access-roles').replaceChildren(...access.roles.flatMap((r) => {
      const term = document.createElement('dt');
      term.textContent = r.role;
      const def = document.createElement('dd');
      def.textContent = r.can.join('; ');
      return [term, def];
    }));
  }

  // ---- dialogs ----

  const addDialog = $('#add-dialog');
  const editDialog = $('#edit-dialog');
  const historyDialog = $('#history-dialog');
  const deleteDialog = $('#delete-dialog');

  function openDialog(dialog, focus, from) {
    clearErrors(dialog);
    opener = from;
    focusNext = null;
    dialog.showModal();
    focus.focus();
  }

  // restoreFocus puts focus where it belongs once a dialog has closed: the
  // target of a save (focusNext), else the element that opened it, else the
  // page's main action.
  function restoreFocus() {
    const fallback = session && session.can.write ? $('#add') : $('#env');
    const back = [focusNext, opener].find((e) => e && e.isConnected && !e.hidden) || fallback;
    back.focus();
  }

  // closeDialog closes a dialog and moves focus at once: the close event
  // comes a task later, and focus must not rest on the page's body (or be
  // taken back from wherever the user went) meanwhile.
  function closeDialog(dialog) {
    dialog.close();
    clearDialog(dialog);
    restoreFocus();
  }

  // clearDialog empties a closed dialog's fields at once, so no value stays
  // in the page even for the task before the close event.
  function clearDialog(dialog) {
    // Reset clears the value fields, so no value stays in the page.
    $('form', dialog).reset();
    setGenerate(dialog, false);
    clearErrors(dialog);
  }

  // closeTo closes a dialog after a save and puts focus on target.
  function closeTo(dialog, target) {
    focusNext = target;
    closeDialog(dialog);
  }

  for (const dialog of [addDialog, editDialog, historyDialog, deleteDialog]) {
    for (const button of dialog.querySelectorAll('[data-close]')) {
      button.addEventListener('click', () => closeDialog(dialog));
    }
    // Escape closes a modal <dialog> natively; every way of closing ends here.
    dialog.addEventListener('close', () => {
      clearDialog(dialog); // again: Escape closes without closeDialog
      const active = document.activeElement;
      if (!active || active === document.body || dialog.contains(active)) {
        restoreFocus(); // closed by Escape: nothing has moved focus yet
      }
      opener = null;
      focusNext = null;
    });
  }

  // setGenerate switches a dialog between typing a value and generating one.
  function setGenerate(dialog, on) {
    const box = $('input[type="checkbox"]', dialog);
    if (!box) {
      return;
    }
    box.checked = on;
    const value = $('input[name="value"]', dialog);
    value.disabled = on;
    if (on) {
      value.value = '';
    }
  }
  for (const dialog of [addDialog, editDialog]) {
    $('input[type="checkbox"]', dialog).addEventListener('change', (event) => {
      setGenerate(dialog, event.currentTarget.checked);
    });
  }

  $('#add').addEventListener('click', (event) => {
    similarConfirmed = '';
    setSimilarWarning('');
    openDialog(addDialog, $('#add-key'), event.currentTarget);
  });

  // setSimilarWarning shows (or with '' hides) the similar-key warning and
  // says on the submit button what it will do.
  function setSimilarWarning(message) {
    const warning = $('#add-key-warning');
    warning.textContent = message;
    warning.hidden = message === '';
    $('button[type="submit"]', addDialog).textContent = message === '' ? 'Create Secret' : 'Create Anyway';
  }

  $('#add-key').addEventListener('input', () => {
    if (similarConfirmed !== '' && $('#add-key').value !== similarConfirmed) {
      similarConfirmed = '';
      setSimilarWarning('');
    }
  });

  $('#add-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const key = $('#add-key').value;
    // A key differing from an existing one only in case or underscores is
    // almost always a mistake: warn once, create on the second submit.
    const similar = key === '' ? undefined : secrets.find((s) => s.key !== key && fold(s.key) === fold(key));
    if (similar && similarConfirmed !== key) {
      clearErrors(addDialog);
      similarConfirmed = key;
      setSimilarWarning(`${similar.key} already exists; keys are case-sensitive, so ${key} would be a separate secret. Create it anyway?`);
      $('#add-key').focus();
      return;
    }
    const body = { key, description: $('#add-description').value };
    if ($('#add-generate').checked) {
      body.generate = GENERATE_BYTES;
    } else {
      body.value = $('#add-value').value;
    }
    submit(addDialog, async () => {
      const created = await api('POST', secretsURL(), body);
      await loadSecrets();
      closeTo(addDialog, firstAction(created.key));
      announce(`Secret ${created.key} created`);
    });
  });

  function openEdit(secret, from) {
    editing = secret;
    $('#edit-key').value = secret.key;
    $('#edit-value').value = '';
    $('#edit-description').value = secret.description;
    openDialog(editDialog, $('#edit-value'), from);
  }

  $('#edit-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const description = $('#edit-description').value;
    const key = editing.key;
    // An unchanged description is sent as null ("keep it"), so a value
    // change never overwrites a description someone else just edited.
    const body = { description: description === editing.description ? null : description };
    if ($('#edit-generate').checked) {
      body.generate = GENERATE_BYTES;
    } else {
      body.value = $('#edit-value').value;
    }
    if (session.features.versions) {
      // Check-and-set: the change applies only to the version the dialog
      // was opened on.
      body.if_version = editing.version;
    }
    submit(editDialog, async () => {
      let updated;
      try {
        updated = await api('PATCH', secretsURL(key), body);
      } catch (err) {
        if (err.code === 'conflict' && body.if_version) {
          await explainConflict(key);
          return;
        }
        throw err;
      }
      await loadSecrets();
      closeTo(editDialog, rowButton(updated.key, 'edit'));
      announce(`Secret ${updated.key} updated`);
    });
  });

  // explainConflict tells the editor that someone else changed the secret
  // since the dialog opened; a second save applies over the new version.
  async function explainConflict(key) {
    let now = null;
    try {
      now = await api('GET', secretsURL(key));
    } catch {
      now = null;
    }
    await loadSecrets();
    clearErrors(editDialog);
    if (now === null) {
      showGeneral(editDialog, [`Someone else changed or deleted ${key} while you were editing it. Your change was not saved.`]);
      return;
    }
    const who = now.updated_by ? ` (${now.updated_by})` : '';
    showGeneral(editDialog, [`Someone else${who} changed ${key} while you were editing it; it is now at version ${now.version}. ` +
      'Your change was not saved. Check the new state, then select Update Secret again to save yours over it.']);
    if (now.description !== editing.description && $('#edit-description').value === editing.description) {
      $('#edit-description').value = now.description;
    }
    editing = now;
    $('#edit-value').focus();
  }

  async function openHistory(secret, from) {
    historyOf = secret;
    $('#history-key').replaceChildren(...keyNodes(secret.key));
    $('#history-body').replaceChildren();
    openDialog(historyDialog, $('[data-close]', historyDialog), from);
    await loadHistory();
  }

  async function loadHistory() {
    let data;
    try {
      data = await api('GET', secretsURL(historyOf.key, '/versions'));
    } catch (err) {
      showErrors(historyDialog, err);
      return;
    }
    $('#history-body').replaceChildren(...data.versions.map((v) => {
      const row = document.createElement('tr');
      row.dataset.version = v.version;
      const num = document.createElement('td');
      num.textContent = 'v' + v.version;
      const when = document.createElement('td');
      const time = document.createElement('time');
      time.dateTime = v.created_at;
      time.textContent = timeFormat.format(new Date(v.created_at));
      when.append(time);
      const who = document.createElement('td');
      who.textContent = v.created_by || '—';
      const state = document.createElement('td');
      state.className = 'state';
      if (v.current) {
        const badge = document.createElement('span');
        badge.className = 'badge current';
        badge.textContent = 'Current';
        state.append(badge);
      } else if (session.can.write) {
        const restore = document.createElement('button');
        restore.type = 'button';
        restore.className = 'button secondary small restore';
        restore.textContent = 'Restore';
        restore.setAttribute('aria-label', `Restore version ${v.version} of ${historyOf.key}`);
        restore.addEventListener('click', () => restoreVersion(v.version, restore));
        state.append(restore);
      }
      row.append(num, when, who, state);
      return row;
    }));
  }

  async function restoreVersion(version, button) {
    const key = historyOf.key;
    clearErrors(historyDialog);
    button.disabled = true;
    try {
      const restored = await api('POST', secretsURL(key, '/rollback'), { version });
      historyOf = restored;
      await loadHistory();
      await loadSecrets();
      opener = rowButton(key, 'history');
      announce(`Version ${version} of ${key} restored as version ${restored.version}`);
      $('[data-close]', historyDialog).focus();
    } catch (err) {
      if (err.status !== 401) {
        showErrors(historyDialog, err);
      }
      button.disabled = false;
    }
  }

  function openDelete(secret, from) {
    deleting = secret;
    $('#delete-key').replaceChildren(...keyNodes(secret.key));
    // Focus starts on Cancel: the safe choice for a permanent action.
    openDialog(deleteDialog, $('[data-close]', deleteDialog), from);
  }

  $('#delete-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const key = deleting.key;
    submit(deleteDialog, async () => {
      const keys = secrets.map((s) => s.key);
      const at = keys.indexOf(key);
      await api('DELETE', secretsURL(key));
      await loadSecrets();
      // Focus moves to the row that took the deleted one's place, else the
      // one before it, else Add Secret.
      const next = keys[at + 1] !== undefined ? keys[at + 1] : keys[at - 1];
      closeTo(deleteDialog, next !== undefined ? firstAction(next) : null);
      announce(`Secret ${key} deleted`);
    });
  });

  // submit runs a dialog's request with its submit button disabled, and
  // shows the server's problems in the dialog.
  async function submit(dialog, request) {
    const button = $('button[type="submit"]', dialog);
    clearErrors(dialog);
    button.disabled = true;
    try {
      await request();
    } catch (err) {
      if (err.status !== 401) {
        showErrors(dialog, err);
      }
    } finally {
      button.disabled = false;
    }
  }

  // ---- errors ----

  function clearErrors(root) {
    for (const slot of root.querySelectorAll('.field-error')) {
      slot.textContent = '';
    }
    for (const input of root.querySelectorAll('[aria-invalid]')) {
      input.removeAttribute('aria-invalid');
    }
    const general = $('.form-error', root);
    general.replaceChildren();
    general.hidden = true;
  }

  // showErrors puts each problem next to its field; problems of the whole
  // request (and of fields the form has no slot for) go in the form's alert.
  function showErrors(root, err) {
    const slots = new Map();
    for (const slot of root.querySelectorAll('.field-error')) {
      slots.set(slot.dataset.field, slot);
    }
    const general = [];
    let firstInvalid = null;
    for (const problem of err.problems) {
      const slot = problem.field ? slots.get(problem.field) : undefined;
      if (!slot) {
        general.push(problem.message);
        continue;
      }
      slot.textContent = slot.textContent ? slot.textContent + ' ' + problem.message : problem.message;
      const input = document.getElementById(slot.id.replace(/-error$/, ''));
      input.setAttribute('aria-invalid', 'true');
      firstInvalid = firstInvalid || input;
    }
    showGeneral(root, general);
    if (firstInvalid) {
      firstInvalid.focus();
    }
  }

  function showGeneral(root, messages) {
    const box = $('.form-error', root);
    if (messages.length === 0) {
      return;
    }
    if (messages.length === 1) {
      box.textContent = messages[0];
    } else {
      const list = document.createElement('ul');
      for (const message of messages) {
        const item = document.createElement('li');
        item.textContent = message;
        list.append(item);
      }
      box.replaceChildren(list);
    }
    box.hidden = false;
  }

  // ---- start ----

  (async () => {
    try {
      await startApp(await api('GET', '/api/session'));
    } catch (err) {
      showSignIn(err.status === 401 ? '' : err.message);
    }
  })();
})();
