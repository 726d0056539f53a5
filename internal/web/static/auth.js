// Accounts in the page, under --auth password: the sign-in page (or, on a
// new database, "create the admin account"; or signup while it is open),
// the user menu (name, API keys, users for admins, sign out), and signing
// in again when a session ends while the page is open. Under --auth none
// none of it shows. The API keys and users dialogs are loaded only when
// opened (accounts.js), so the first page load stays small.

import { api, APIError, onUnauthorized } from './api.js';

const $ = (id) => document.getElementById(id);

const el = {
  app: $('app'), page: $('auth-page'), form: $('auth-form'), title: $('auth-title'), lead: $('auth-lead'),
  username: $('auth-username'), password: $('auth-password'), error: $('auth-error'), submit: $('auth-submit'),
  switchRow: $('auth-switch'), switchBtn: $('auth-switch-btn'),
  box: $('user-box'), userBtn: $('user-btn'), userName: $('user-name'), menu: $('user-menu'),
  keysBtn: $('keys-btn'), usersBtn: $('users-btn'), signOut: $('signout-btn'),
};

const MODES = {
  login: { title: 'Sign in', submit: 'Sign in', lead: '', autocomplete: 'current-password', other: 'Create an account' },
  setup: {
    title: 'Create the admin account', submit: 'Create admin account', autocomplete: 'new-password', other: '',
    lead: 'Nobody has an account yet. The first account manages the others; choose its name and a password of at least 8 characters.',
  },
  signup: { title: 'Create an account', submit: 'Create account', lead: 'A password needs at least 8 characters.', autocomplete: 'new-password', other: 'I have an account' },
};

// authController returns the page's accounts. hooks: resumed() after the
// user signed in again as the same user (the page goes on where it was).
export function authController(hooks) {
  const state = { options: null, user: null, mode: 'login', waiting: null, ended: false };

  function showPage(mode, lead) {
    state.mode = mode;
    const m = MODES[mode];
    el.title.textContent = m.title;
    el.submit.textContent = m.submit;
    el.lead.textContent = lead || m.lead;
    el.lead.hidden = !el.lead.textContent;
    el.password.setAttribute('autocomplete', m.autocomplete);
    el.error.hidden = true;
    // Signup is offered while it is open; signing in, from signup.
    const other = mode === 'login' ? (state.options && state.options.signup ? m.other : '') : m.other;
    el.switchBtn.textContent = other;
    el.switchRow.hidden = !other;
    el.page.dataset.mode = mode;
    closeMenu();
    for (const d of document.querySelectorAll('dialog[open]')) d.close();
    el.app.inert = true;
    el.app.setAttribute('aria-hidden', 'true');
    el.page.hidden = false;
    document.title = m.title + ' · ' + document.querySelector('.brand').textContent;
    (el.username.value ? el.password : el.username).focus();
  }

  function hidePage() {
    el.page.hidden = true;
    el.app.inert = false;
    el.app.removeAttribute('aria-hidden');
    el.password.value = '';
  }

  function showUser(user) {
    state.user = user;
    el.userName.textContent = user.username;
    el.usersBtn.hidden = user.role !== 'admin';
    el.box.hidden = false;
  }

  // signedIn resolves the wait of start(), or resumes after an ended
  // session.
  function signedIn(user) {
    const before = state.user;
    const again = state.ended;
    state.ended = false;
    hidePage();
    if (again && before && before.id !== user.id) {
      // Another account: nothing on screen is theirs.
      location.assign('/');
      return;
    }
    showUser(user);
    if (state.waiting) { state.waiting(user); state.waiting = null; return; }
    if (again) hooks.resumed();
  }

  el.form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const username = el.username.value.trim();
    const password = el.password.value;
    if (!username || !password) {
      showError(new Error('Enter a username and a password.'));
      return;
    }
    el.submit.disabled = true;
    try {
      const res = state.mode === 'login' ? await api.login(username, password) : await api.signup(username, password);
      signedIn(res.user);
    } catch (err) {
      if (err instanceof APIError && err.code === 'signup_closed' && state.mode === 'setup') {
        // Someone else made the first account meanwhile.
        state.options = { ...state.options, setup: false, signup: false };
        showPage('login');
      }
      showError(err);
    } finally {
      el.submit.disabled = false;
    }
  });

  function showError(err) {
    let text = err && err.message ? err.message : String(err);
    if (err instanceof APIError && err.status === 429) text = 'Too many failed attempts. Wait a few minutes, then try again.';
    el.error.textContent = text;
    el.error.hidden = false;
  }

  el.switchBtn.addEventListener('click', () => showPage(state.mode === 'login' ? 'signup' : 'login'));

  // ---- the user menu ----

  function closeMenu() {
    el.menu.hidden = true;
    el.userBtn.setAttribute('aria-expanded', 'false');
  }

  el.userBtn.addEventListener('click', () => {
    const open = el.menu.hidden;
    el.menu.hidden = !open;
    el.userBtn.setAttribute('aria-expanded', String(open));
    if (open) el.menu.querySelector('button:not([hidden])').focus();
  });
  el.menu.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { e.preventDefault(); closeMenu(); el.userBtn.focus(); }
  });
  document.addEventListener('click', (e) => {
    if (!el.menu.hidden && !el.box.contains(e.target)) closeMenu();
  });

  async function openDialog(name) {
    closeMenu();
    // Loaded on first use: most visits never open these.
    const m = await import('./accounts.js');
    if (name === 'keys') m.openKeys();
    else m.openUsers(state.user);
  }
  el.keysBtn.addEventListener('click', () => openDialog('keys'));
  el.usersBtn.addEventListener('click', () => openDialog('users'));

  el.signOut.addEventListener('click', async () => {
    closeMenu();
    try { await api.logout(); } catch { /* the session is gone either way for this page */ }
    // A fresh page: nothing of this account stays on screen or in memory.
    location.assign('/');
  });

  // ---- start and ended sessions ----

  onUnauthorized(() => {
    if (!state.user || state.ended || !el.page.hidden) return;
    state.ended = true;
    el.username.value = state.user.username;
    showPage('login', 'Your session has ended. Sign in again to go on; what you typed is kept.');
  });

  // start resolves when the page may show the app: at once under --auth
  // none, else once someone is signed in (the sign-in page shows till
  // then). onPage runs when the sign-in page is shown instead.
  async function start(onPage) {
    try {
      state.options = await api.authOptions();
    } catch {
      // The api is down: the app shows why, as it did before accounts.
      return null;
    }
    if (state.options.auth !== 'password') return null;
    try {
      const me = await api.me();
      showUser(me.user);
      return me.user;
    } catch (err) {
      if (!(err instanceof APIError) || err.status !== 401) return null;
    }
    const wait = new Promise((resolve) => { state.waiting = resolve; });
    showPage(state.options.setup ? 'setup' : 'login');
    onPage();
    return wait;
  }

  return { start };
}
