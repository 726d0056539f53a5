// The account dialogs, loaded when first opened from the user menu: your
// API keys (create — the key is shown once, to copy — list, revoke) and,
// for admins, the users (create, role, disable, reset password, delete) and whether
// signup is open. Everything is built with DOM calls (dom.js), like the rest.

import { api } from './api.js';
import { h, icon, clear, copyText, flash } from './dom.js';
import { confirmDialog } from './chrome.js';

// dialog returns a modal <dialog> with a title, a close button, an error
// line and a body to fill, made once and kept in the page.
function dialog(id, title, lead) {
  let d = document.getElementById(id);
  if (d) return d;
  const close = h('button', { type: 'button', class: 'icon-btn dlg-close', 'aria-label': 'Close' }, icon('close'));
  d = h('dialog', { class: 'dialog wide', id, 'aria-labelledby': id + '-title' },
    h('div', { class: 'dlg-head' }, h('h2', { id: id + '-title', text: title }), close),
    h('p', { class: 'muted', text: lead }),
    h('p', { class: 'dlg-error', role: 'alert', hidden: true }),
    h('p', { class: 'dlg-note', role: 'status' }),
    h('div', { class: 'dlg-body' }));
  close.addEventListener('click', () => d.close());
  document.body.appendChild(d);
  return d;
}

function showError(d, err) {
  d.querySelector('.dlg-note').textContent = '';
  const p = d.querySelector('.dlg-error');
  p.textContent = err ? err.message || String(err) : '';
  p.hidden = !err;
}

const fmtDate = (s) => (s ? new Date(s).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : 'never');

function field(label, input) {
  return h('label', { class: 'field' }, h('span', { text: label }), input);
}

// ---- API keys ----

export async function openKeys() {
  const d = dialog('keys-dialog', 'API keys',
    'Programs use a key instead of your password: send it as Authorization: Bearer <key> (the OpenAI SDKs\' api_key). A key acts as you.');
  const body = d.querySelector('.dlg-body');
  clear(body);
  showError(d, null);
  const name = h('input', { id: 'key-name', maxlength: '100', placeholder: 'e.g. nightly report', autocomplete: 'off', required: true });
  const create = h('button', { type: 'submit', class: 'btn primary', id: 'key-create', text: 'Create key' });
  const form = h('form', { class: 'row-form' }, field('Name', name), create);
  const fresh = h('div', { class: 'new-key', id: 'new-key', hidden: true });
  const list = h('ul', { class: 'acct-list', id: 'key-list' });
  body.append(form, fresh, list);

  async function load() {
    try {
      const res = await api.keys();
      render(res.data || []);
    } catch (err) { showError(d, err); }
  }

  function render(keys) {
    clear(list);
    if (!keys.length) list.appendChild(h('li', { class: 'acct-empty', text: 'No keys yet.' }));
    for (const k of keys) {
      const revoke = h('button', { type: 'button', class: 'btn small danger-text', text: 'Revoke', 'aria-label': 'Revoke ' + k.name });
      revoke.addEventListener('click', async () => {
        const ok = await confirmDialog('Revoke key?', '"' + k.name + '" stops working at once for every program that uses it.', 'Revoke');
        if (!ok) return;
        try {
          await api.deleteKey(k.id);
          showError(d, null);
          await load();
        } catch (err) { showError(d, err); }
      });
      list.appendChild(h('li', { class: 'acct-row key-row', 'data-id': k.id },
        h('div', { class: 'acct-main' }, h('span', { class: 'acct-name', text: k.name }),
          h('span', { class: 'acct-meta', text: 'created ' + fmtDate(k.created_at) + ' · last used ' + fmtDate(k.last_used_at) })),
        h('div', { class: 'acct-acts' }, revoke)));
    }
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    create.disabled = true;
    try {
      const k = await api.createKey(name.value.trim());
      name.value = '';
      showError(d, null);
      // Shown this once: the server keeps only its hash.
      const code = h('code', { class: 'key-secret', id: 'key-secret', text: k.key });
      const copy = h('button', { type: 'button', class: 'btn small', id: 'key-copy', 'aria-label': 'Copy key' }, icon('copy'), 'Copy');
      copy.addEventListener('click', async () => { if (await copyText(k.key)) flash(copy, 'Copied'); });
      clear(fresh);
      fresh.append(h('p', { class: 'new-key-note', text: 'Copy the key "' + k.name + '" now: it is not shown again.' }),
        h('div', { class: 'new-key-row' }, code, copy));
      fresh.hidden = false;
      await load();
    } catch (err) {
      showError(d, err);
    } finally {
      create.disabled = false;
    }
  });
  // The key leaves the page when the dialog closes.
  d.addEventListener('close', () => { clear(fresh); fresh.hidden = true; }, { once: true });

  d.showModal();
  name.focus();
  await load();
}

// ---- users (admins) ----

export async function openUsers(me) {
  const d = dialog('users-dialog', 'Users', 'Make accounts, change their role, disable them, set a new password or delete them. Admins cannot see other users\' chats.');
  const body = d.querySelector('.dlg-body');
  clear(body);
  showError(d, null);

  const signup = h('input', { type: 'checkbox', id: 'signup-open' });
  signup.addEventListener('change', async () => {
    signup.disabled = true;
    try {
      const st = await api.patchSettings({ signup: signup.checked ? 'open' : 'closed' });
      signup.checked = st.signup === 'open';
      showError(d, null);
    } catch (err) {
      signup.checked = !signup.checked;
      showError(d, err);
    } finally { signup.disabled = false; }
  });
  const signupRow = h('label', { class: 'switch-row' }, signup,
    h('span', { text: 'Open signup: anyone who can reach this page may create an account' }));

  const uname = h('input', { id: 'new-user-name', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', required: true });
  const upass = h('input', { id: 'new-user-password', type: 'password', autocomplete: 'new-password', minlength: '8', required: true });
  const urole = h('select', { id: 'new-user-role' }, h('option', { value: 'user', text: 'user' }), h('option', { value: 'admin', text: 'admin' }));
  const create = h('button', { type: 'submit', class: 'btn primary', id: 'new-user-create', text: 'Create user' });
  const form = h('form', { class: 'row-form users-form' },
    field('Username', uname), field('Password', upass), field('Role', urole), create);
  const list = h('ul', { class: 'acct-list', id: 'user-list' });
  body.append(signupRow, h('h3', { text: 'New user' }), form, h('h3', { text: 'Accounts' }), list);

  // busy marks the dialog while a change and the reload after it run:
  // the list is rebuilt at the end.
  async function patch(u, change, done) {
    d.dataset.busy = 'true';
    try {
      await api.patchUser(u.id, change);
      showError(d, null);
      if (done) d.querySelector('.dlg-note').textContent = done;
    } catch (err) {
      showError(d, err);
    }
    await load();
    delete d.dataset.busy;
  }

  function row(u) {
    const self = u.id === me.id;
    const role = h('select', { class: 'user-role', 'aria-label': 'Role of ' + u.username, disabled: self },
      h('option', { value: 'user', text: 'user' }), h('option', { value: 'admin', text: 'admin' }));
    role.value = u.role;
    role.addEventListener('change', () => patch(u, { role: role.value }));
    const toggle = h('button', { type: 'button', class: 'btn small user-disable', disabled: self,
      text: u.disabled ? 'Enable' : 'Disable', 'aria-label': (u.disabled ? 'Enable ' : 'Disable ') + u.username });
    toggle.addEventListener('click', () => patch(u, { disabled: !u.disabled }));
    const reset = h('button', { type: 'button', class: 'btn small user-reset', text: 'Reset password', 'aria-label': 'Reset password of ' + u.username });
    const pw = h('input', { type: 'password', class: 'user-new-password', autocomplete: 'new-password', minlength: '8',
      'aria-label': 'New password for ' + u.username, placeholder: 'New password', required: true });
    const resetForm = h('form', { class: 'reset-form', hidden: true }, pw,
      h('button', { type: 'submit', class: 'btn small primary user-reset-save', text: 'Set' }));
    reset.addEventListener('click', () => { resetForm.hidden = !resetForm.hidden; if (!resetForm.hidden) pw.focus(); });
    const del = h('button', { type: 'button', class: 'btn small danger-text user-delete', disabled: self, text: 'Delete',
      'aria-label': 'Delete ' + u.username });
    del.addEventListener('click', async () => {
      const ok = await confirmDialog('Delete ' + u.username + '?', 'The account goes with all its chats and API keys. This cannot be undone.', 'Delete');
      if (!ok) return;
      d.dataset.busy = 'true';
      try {
        await api.deleteUser(u.id);
        showError(d, null);
      } catch (err) { showError(d, err); }
      await load();
      delete d.dataset.busy;
    });
    resetForm.addEventListener('submit', (e) => { e.preventDefault(); patch(u, { password: pw.value }, 'New password set for ' + u.username + '; their sessions were ended.'); });
    return h('li', { class: 'acct-row user-row' + (u.disabled ? ' disabled' : ''), 'data-username': u.username },
      h('div', { class: 'acct-main' },
        h('span', { class: 'acct-name', text: u.username + (self ? ' (you)' : '') }),
        h('span', { class: 'acct-meta', text: (u.disabled ? 'disabled · ' : '') + 'since ' + fmtDate(u.created_at) })),
      h('div', { class: 'acct-acts' }, role, toggle, reset, del), resetForm);
  }

  async function load() {
    try {
      const [users, st] = await Promise.all([api.users(), api.settings()]);
      signup.checked = st.signup === 'open';
      clear(list);
      // The unclaimed local user has no name and cannot sign in: not an account to manage.
      for (const u of users.data || []) if (u.username) list.appendChild(row(u));
    } catch (err) { showError(d, err); }
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    create.disabled = true;
    d.dataset.busy = 'true';
    try {
      await api.createUser({ username: uname.value.trim(), password: upass.value, role: urole.value });
      uname.value = '';
      upass.value = '';
      urole.value = 'user';
      showError(d, null);
      await load();
    } catch (err) {
      showError(d, err);
    } finally { create.disabled = false; delete d.dataset.busy; }
  });

  d.showModal();
  uname.focus();
  await load();
}
