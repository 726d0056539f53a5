// Parley's chat UI, the page's entry module: it wires the conversation
// controller (conversation.js) to the chrome around it (chrome.js) and the
// sidebar (sidebar.js), binds the keys and buttons, and starts the page —
// after the sign-in page (auth.js) when the api asks for accounts.

import { h, withIcons } from './dom.js';
import { Sidebar } from './sidebar.js';
import {
  $, el, autosize, openDrawer, closeDrawer, confirmDialog, showBanner, hideBanner, applySavedTheme,
  ModelPicker,
} from './chrome.js';
import { conversationController } from './conversation.js';
import { authController } from './auth.js';
import { transfer } from './transfer.js';
import { settingsDialog } from './settings.js';
import { bindShortcuts } from './shortcuts.js';
import { modelStatus } from './status.js';

const EXAMPLES = [
  ['Tell me a joke', 'something to lighten the mood'],
  ['What is the meaning of life?', 'a philosophical take'],
  ['Write a short poem', 'about the sea at night'],
  ['Explain recursion', 'with a small code example'],
];

// The hooks below run on user actions, after convo exists.
const sidebar = new Sidebar({
  open: (id) => { closeDrawer(); convo.openConversation(id, true); },
  deleted: (id) => convo.deleted(id),
  renamed: (c) => convo.renamed(c),
  error: (err) => showBanner(err),
  confirm: confirmDialog,
});
const models = new ModelPicker({
  convModel: () => convo.convModel(),
  changed: (model) => convo.modelChanged(model),
  // A model list that fails to load is the model status' to tell (status.js).
  error: () => {},
});
const transfers = transfer({
  currentId: () => convo.currentId(),
  imported: (conv) => { sidebar.upsert(conv); closeDrawer(); convo.openConversation(conv.id, true); },
  error: (err) => showBanner(err),
});
const convo = conversationController({ sidebar, models, onChat: transfers.show });

settingsDialog({ current: convo.currentSettings, save: convo.saveSettings });

el.input.addEventListener('input', autosize);
el.input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    convo.send(el.input.value);
  }
});
el.form.addEventListener('submit', (e) => { e.preventDefault(); convo.send(el.input.value); });
el.stop.addEventListener('click', convo.stop);
el.toBottom.addEventListener('click', () => { el.scroller.scrollTo({ top: el.scroller.scrollHeight, behavior: 'smooth' }); el.input.focus({ preventScroll: true }); });
el.retry.addEventListener('click', convo.retry);
el.undo.addEventListener('click', convo.undo);
el.clear.addEventListener('click', convo.clearConversation);
$('new-chat').addEventListener('click', () => { closeDrawer(); convo.newChat(true); });
$('new-chat-top').addEventListener('click', () => convo.newChat(true));
$('open-drawer').addEventListener('click', openDrawer);
$('close-drawer').addEventListener('click', closeDrawer);
el.scrim.addEventListener('click', closeDrawer);
document.addEventListener('keydown', (e) => {
  if (e.key !== 'Escape' || e.defaultPrevented) return;
  if (document.querySelector('dialog[open]') || !document.getElementById('auth-page').hidden) return;
  if (convo.busy()) { e.preventDefault(); convo.stop(); return; }
  closeDrawer();
});
window.addEventListener('popstate', convo.route);
bindShortcuts({
  newChat: () => { closeDrawer(); convo.newChat(true); },
  search: () => { openDrawer(); const s = $('search'); s.focus(); s.select(); },
});

for (const [title, sub] of EXAMPLES) {
  const b = h('button', { type: 'button', class: 'example' }, h('span', { class: 'ex-title', text: title }), h('span', { class: 'ex-sub', text: sub }));
  b.addEventListener('click', () => convo.send(title));
  el.examples.appendChild(b);
}

// A session that ended while the page was open, signed in again: reload
// what the failed requests left empty; the open chat and the message box
// stay as they were.
const auth = authController({
  resumed: () => {
    hideBanner();
    if (!models.loaded) models.load();
    sidebar.reload();
    convo.route();
  },
});

withIcons(document);
applySavedTheme();
const status = modelStatus();
const ready = () => { document.documentElement.dataset.ready = 'true'; };
auth.start(ready).then(() => {
  // The status marks the picker's options, so it runs once they are there.
  models.load().then(status.check);
  sidebar.reload();
  convo.route();
  ready();
});
