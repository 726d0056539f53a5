// Export and import of conversations: an Export button in the top bar
// (its dialog offers the open chat as Markdown or JSON, downloaded from
// the api's export link) and an Import button in the sidebar (a JSON file:
// Parley's export or an OpenAI messages array becomes a new chat). It
// builds its own elements, so the page's template needs none.

import { api } from './api.js';
import { h, icon } from './dom.js';

// transfer adds the buttons. hooks: currentId() → the open chat's id (or
// null), imported(conv) → open the new chat, error(err).
export function transfer(hooks) {
  const exportBtn = h('button', { type: 'button', class: 'icon-btn', id: 'export-btn', 'aria-label': 'Export chat', title: 'Export chat' }, icon('download'));
  exportBtn.hidden = true;
  const system = document.getElementById('system-btn');
  system.parentElement.insertBefore(exportBtn, system);

  const md = h('a', { class: 'btn', id: 'export-md', download: '', text: 'Markdown' });
  const json = h('a', { class: 'btn', id: 'export-json', download: '', text: 'JSON' });
  const dialog = h('dialog', { class: 'dialog', id: 'export-dialog', 'aria-labelledby': 'export-title' },
    h('form', { method: 'dialog' },
      h('h2', { id: 'export-title', text: 'Export chat' }),
      h('p', { text: 'Download this chat as Markdown to read or share, or as JSON to import it again.' }),
      h('div', { class: 'dialog-actions export-actions' }, md, json, h('button', { value: 'cancel', class: 'btn', text: 'Close' }))));
  document.body.appendChild(dialog);
  for (const a of [md, json]) a.addEventListener('click', () => dialog.close());
  exportBtn.addEventListener('click', () => {
    const id = hooks.currentId();
    if (!id) return;
    const base = '/api/conversations/' + encodeURIComponent(id) + '/export?format=';
    md.href = base + 'md';
    json.href = base + 'json';
    dialog.showModal();
  });

  const file = h('input', { type: 'file', id: 'import-file', accept: '.json,application/json', class: 'sr-only', tabindex: '-1', 'aria-hidden': 'true' });
  const importBtn = h('button', { type: 'button', class: 'theme-btn', id: 'import-btn' }, icon('upload'), 'Import chat');
  const foot = document.querySelector('.sidebar-foot');
  foot.insertBefore(importBtn, foot.firstChild);
  foot.appendChild(file);
  importBtn.addEventListener('click', () => file.click());
  file.addEventListener('change', async () => {
    const f = file.files && file.files[0];
    file.value = '';
    if (!f) return;
    let body;
    try {
      body = JSON.parse(await f.text());
    } catch {
      hooks.error(new Error('“' + f.name + '” is not a JSON file: import takes a chat exported as JSON, or an OpenAI messages array.'));
      return;
    }
    try {
      hooks.imported(await api.importConversation(body));
    } catch (err) {
      hooks.error(err);
    }
  });

  // show reflects the open chat: only a saved one can be exported.
  return { show: (id) => { exportBtn.hidden = !id; } };
}
