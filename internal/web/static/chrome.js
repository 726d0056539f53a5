// Parley's UI chrome: the page's fixed elements and everything around the
// conversation — the title, the banner and the screen-reader live region,
// scrolling, the composer's height, the drawer, dialogs, the theme, the
// model picker and the system prompt dialog. What these act on (which
// chat, which reply) belongs to the conversation controller, which they
// reach only through the hooks they are given.

import { api, APIError } from './api.js';
import { h, icon, clear } from './dom.js';

export const $ = (id) => document.getElementById(id);

const BRAND = document.querySelector('.brand').textContent;

export const el = {
  app: $('app'), thread: $('thread'), scroller: $('scroller'), empty: $('empty'), examples: $('examples'),
  input: $('composer-input'), form: $('composer'), send: $('send-btn'), stop: $('stop-btn'),
  retry: $('retry-btn'), undo: $('undo-btn'), clear: $('clear-btn'), model: $('model'),
  title: $('conv-title'), banner: $('banner'), live: $('live'), theme: $('theme-toggle'),
  system: $('system-btn'), sysDialog: $('system-dialog'), sysInput: $('system-input'),
  confirm: $('confirm-dialog'), scrim: $('scrim'), toBottom: $('to-bottom'), toolbar: $('toolbar'),
};

// showTitle names the open conversation conv (null: a new chat) in the
// top bar and the tab.
export function showTitle(conv) {
  const t = conv && conv.title ? conv.title : 'New chat';
  el.title.textContent = t;
  document.title = t + ' · ' + BRAND;
}

// ---- scrolling ----

export function nearBottom() {
  const s = el.scroller;
  return s.scrollHeight - s.scrollTop - s.clientHeight < 120;
}

export function scrollToBottom() {
  el.scroller.scrollTop = el.scroller.scrollHeight;
  el.toBottom.hidden = true;
}

// The "newest message" button shows while the reader is scrolled up.
export function updateToBottom() { el.toBottom.hidden = nearBottom(); }

el.scroller.addEventListener('scroll', updateToBottom, { passive: true });

// ---- announcements ----

export function announce(text) { el.live.textContent = text; }

export function showBanner(err) {
  const text = err instanceof APIError || (err && err.message) ? err.message : String(err);
  clear(el.banner);
  el.banner.append(icon('alert'), h('span', { text }));
  const x = h('button', { type: 'button', class: 'icon-btn small', 'aria-label': 'Dismiss' }, icon('close'));
  x.addEventListener('click', hideBanner);
  el.banner.appendChild(x);
  el.banner.hidden = false;
}

export function hideBanner() { el.banner.hidden = true; }

// ---- composer, drawer, dialogs ----

export function autosize() {
  el.input.style.height = 'auto';
  el.input.style.height = Math.min(el.input.scrollHeight, 220) + 'px';
}

export function openDrawer() {
  el.app.classList.add('drawer-open');
  el.scrim.hidden = false;
  $('open-drawer').setAttribute('aria-expanded', 'true');
  // Into the drawer, but not the search box: on a phone that would pop up
  // the keyboard over the list the user came to see.
  $('new-chat').focus();
}

export function closeDrawer() {
  if (!el.app.classList.contains('drawer-open')) return;
  el.app.classList.remove('drawer-open');
  el.scrim.hidden = true;
  $('open-drawer').setAttribute('aria-expanded', 'false');
}

export function confirmDialog(title, text, okLabel) {
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = okLabel;
  el.confirm.returnValue = '';
  el.confirm.showModal();
  return new Promise((resolve) => {
    el.confirm.addEventListener('close', () => resolve(el.confirm.returnValue === 'ok'), { once: true });
  });
}

// ---- theme ----

const THEMES = ['system', 'light', 'dark'];

function applyTheme(t) {
  if (t === 'light' || t === 'dark') document.documentElement.setAttribute('data-theme', t);
  else document.documentElement.removeAttribute('data-theme');
  clear(el.theme);
  el.theme.append(icon(t === 'light' ? 'sun' : t === 'dark' ? 'moon' : 'monitor'),
    h('span', { text: 'Theme: ' + t[0].toUpperCase() + t.slice(1) }));
  el.theme.setAttribute('aria-label', 'Theme: ' + t + ' (click to change)');
  el.theme.dataset.theme = t;
}

el.theme.addEventListener('click', () => {
  const cur = el.theme.dataset.theme || 'system';
  const next = THEMES[(THEMES.indexOf(cur) + 1) % THEMES.length];
  try { localStorage.setItem('parley.theme', next); } catch { /* not persisted then */ }
  applyTheme(next);
});

// applySavedTheme shows the theme toggle for the theme theme.js applied.
export function applySavedTheme() {
  let saved = 'system';
  try { saved = localStorage.getItem('parley.theme') || 'system'; } catch { /* default */ }
  applyTheme(THEMES.includes(saved) ? saved : 'system');
}

// ---- model picker ----

// ModelPicker is the model <select>: the models the api offers, the one new
// replies use (value), remembered across visits. hooks: convModel() → the
// open chat's model or ''; changed(model) after the user picks one;
// error(err).
export class ModelPicker {
  constructor(hooks) {
    this.hooks = hooks;
    this.value = '';
    this.loaded = false;
    // The list failed to load (the api was down): try again when the user
    // reaches for the picker rather than only on the next page load.
    el.model.addEventListener('focus', () => { if (!this.loaded) this.load(); });
    el.model.addEventListener('change', () => {
      this.value = el.model.value;
      try { localStorage.setItem('parley.model', this.value); } catch { /* storage may be off */ }
      this.hooks.changed(this.value);
    });
  }

  async load() {
    clear(el.model);
    el.model.appendChild(h('option', { value: '', text: 'Default model' }));
    try {
      const res = await api.models();
      const ids = (res.data || []).map((m) => m.id);
      if (ids.length) {
        clear(el.model);
        for (const id of ids) el.model.appendChild(h('option', { value: id, text: id }));
      }
      this.loaded = true;
    } catch (err) {
      this.hooks.error(err);
    }
    this.pick(this.hooks.convModel());
  }

  // pick selects convModel, else the one last picked, else the first.
  pick(convModel) {
    const options = [...el.model.options].map((o) => o.value);
    let saved = '';
    try { saved = localStorage.getItem('parley.model') || ''; } catch { /* storage may be off */ }
    let want = convModel || saved;
    if (!options.includes(want)) want = options[0] || '';
    el.model.value = want;
    this.value = want;
  }
}
