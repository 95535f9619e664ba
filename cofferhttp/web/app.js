// The Secrets page: lists, adds, edits and deletes secrets through the
// server's JSON API. Values go to the server and never come back: no
// response holds one, and the page never writes one into the document.
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

  const dateFormat = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });

  let csrfToken = '';   // sent back in X-CSRF-Token on every state-changing request
  let environment = ''; // the selected environment
  let editing = null;   // the secret the edit dialog is open on
  let deleting = null;  // the secret the delete dialog is open on
  let opener = null;    // the element that opened the current dialog, to return focus to

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

  const secretsURL = (key) => '/api/secrets' + (key === undefined ? '' : '/' + encodeURIComponent(key)) +
    '?env=' + encodeURIComponent(environment);

  // ---- sign-in ----

  function showSignIn(message) {
    csrfToken = '';
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
    button.disabled = true;
    try {
      const session = await api('POST', '/api/session', { token: input.value });
      input.value = '';
      await startApp(session);
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

  // ---- the table ----

  async function startApp(session) {
    csrfToken = session.csrf_token || '';
    const select = $('#env');
    select.replaceChildren();
    for (const name of session.environments) {
      const option = document.createElement('option');
      option.value = name;
      option.textContent = name;
      select.append(option);
    }
    const wanted = new URLSearchParams(location.search).get('env');
    environment = session.environments.includes(wanted) ? wanted : session.default_environment;
    select.value = environment;
    $('#signed-in-as').textContent = 'Signed in as ' + session.actor;
    $('#loading').hidden = true;
    $('#signin').hidden = true;
    $('#app').hidden = false;
    await loadSecrets();
    $('#add').focus();
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
    render(list.secrets);
  }

  function render(secrets) {
    $('#secrets-caption').textContent = `Secrets in the ${environment} environment`;
    const body = $('#secrets-body');
    const template = $('#row-template');
    const rows = secrets.map((secret) => {
      const row = template.content.firstElementChild.cloneNode(true);
      row.dataset.key = secret.key;
      $('.key', row).textContent = secret.key;
      const description = $('.description', row);
      description.textContent = secret.description || '—';
      $('.type', row).textContent = TYPE_LABELS[secret.type] || secret.type;
      const created = new Date(secret.created_at);
      const time = $('.created', row);
      time.dateTime = secret.created_at;
      time.textContent = dateFormat.format(created);
      time.title = created.toLocaleString();
      const edit = $('.edit', row);
      edit.setAttribute('aria-label', 'Edit ' + secret.key);
      edit.title = 'Edit ' + secret.key;
      edit.addEventListener('click', () => openEdit(secret, edit));
      const del = $('.delete', row);
      del.setAttribute('aria-label', 'Delete ' + secret.key);
      del.title = 'Delete ' + secret.key;
      del.addEventListener('click', () => openDelete(secret, del));
      return row;
    });
    body.replaceChildren(...rows);
    $('#secrets').hidden = secrets.length === 0;
    $('#empty').hidden = secrets.length !== 0;
  }

  function announce(message) {
    $('#status').textContent = message;
  }

  // ---- dialogs ----

  const addDialog = $('#add-dialog');
  const editDialog = $('#edit-dialog');
  const deleteDialog = $('#delete-dialog');

  function openDialog(dialog, focus, from) {
    clearErrors(dialog);
    opener = from;
    dialog.showModal();
    focus.focus();
  }

  for (const dialog of [addDialog, editDialog, deleteDialog]) {
    for (const button of dialog.querySelectorAll('[data-close]')) {
      button.addEventListener('click', () => dialog.close());
    }
    // Escape closes a modal <dialog> natively; every way of closing ends here.
    dialog.addEventListener('close', () => {
      // Reset clears the value fields, so no value stays in the page.
      $('form', dialog).reset();
      clearErrors(dialog);
      const back = opener && opener.isConnected ? opener : $('#add');
      opener = null;
      back.focus();
    });
  }

  $('#add').addEventListener('click', (event) => {
    openDialog(addDialog, $('#add-key'), event.currentTarget);
  });

  $('#add-form').addEventListener('submit', (event) => {
    event.preventDefault();
    submit(addDialog, async () => {
      const created = await api('POST', secretsURL(), {
        key: $('#add-key').value,
        value: $('#add-value').value,
        description: $('#add-description').value,
      });
      addDialog.close();
      await loadSecrets();
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
    submit(editDialog, async () => {
      // An unchanged description is sent as null ("keep it"), so a value
      // change never overwrites a description someone else just edited.
      const updated = await api('PATCH', secretsURL(editing.key), {
        value: $('#edit-value').value,
        description: description === editing.description ? null : description,
      });
      editDialog.close();
      await loadSecrets();
      announce(`Secret ${updated.key} updated`);
    });
  });

  function openDelete(secret, from) {
    deleting = secret;
    $('#delete-key').textContent = secret.key;
    // Focus starts on Cancel: the safe choice for a permanent action.
    openDialog(deleteDialog, $('[data-close]', deleteDialog), from);
  }

  $('#delete-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const key = deleting.key;
    submit(deleteDialog, async () => {
      await api('DELETE', secretsURL(key));
      deleteDialog.close();
      await loadSecrets();
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
