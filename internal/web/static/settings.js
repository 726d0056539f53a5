// The chat settings dialog: the system prompt (the page's own dialog) and
// the generation settings beside it — temperature, top-p and max tokens,
// empty meaning the model's default. It adds its fields to the dialog and
// owns its opening and saving.

import { h } from './dom.js';
import { el } from './chrome.js';

function numberField(id, label, hint, attrs) {
  const input = h('input', { type: 'number', id, class: 'setting-input', placeholder: 'Default', inputmode: 'decimal', ...attrs });
  const row = h('div', { class: 'setting' },
    h('label', { for: id, text: label }),
    input,
    h('span', { class: 'setting-hint', text: hint }));
  return { row, input };
}

function value(input) {
  const v = input.value.trim();
  return v === '' ? null : Number(v);
}

function show(input, v) { input.value = v === null || v === undefined ? '' : String(v); }

// settingsDialog wires the settings button and dialog. hooks: current() →
// {system_prompt, settings} in force; save({system_prompt, settings})
// stores what was edited.
export function settingsDialog(hooks) {
  const form = el.sysDialog.querySelector('form');
  const title = el.sysDialog.querySelector('h2');
  title.textContent = 'Chat settings';
  el.system.setAttribute('aria-label', 'Chat settings');
  el.system.title = 'Chat settings';
  el.sysInput.setAttribute('aria-label', 'System prompt');
  const temp = numberField('setting-temperature', 'Temperature', 'from 0 (focused) to 2 (creative)', { min: '0', max: '2', step: '0.05' });
  const topP = numberField('setting-top-p', 'Top-p', 'more than 0, at most 1', { min: '0.01', max: '1', step: '0.01' });
  const max = numberField('setting-max-tokens', 'Max tokens', 'longest reply', { min: '1', max: '1048576', step: '1', inputmode: 'numeric' });
  const group = h('fieldset', { class: 'settings-group' },
    h('legend', { text: 'Generation (empty: the model’s default)' }), temp.row, topP.row, max.row);
  form.insertBefore(group, form.querySelector('.dialog-actions'));

  el.system.addEventListener('click', () => {
    const cur = hooks.current();
    const s = cur.settings || {};
    el.sysInput.value = cur.system_prompt || '';
    show(temp.input, s.temperature);
    show(topP.input, s.top_p);
    show(max.input, s.max_tokens || null);
    el.sysDialog.returnValue = '';
    el.sysDialog.showModal();
  });
  el.sysDialog.addEventListener('close', () => {
    if (el.sysDialog.returnValue !== 'ok') return;
    const settings = {};
    const t = value(temp.input);
    const p = value(topP.input);
    const m = value(max.input);
    if (t !== null) settings.temperature = t;
    if (p !== null) settings.top_p = p;
    if (m !== null && m > 0) settings.max_tokens = Math.round(m);
    hooks.save({ system_prompt: el.sysInput.value.trim(), settings });
  });
}

// customized reports whether settings differ from the defaults.
export function customized(settings) {
  return !!settings && (settings.temperature != null || settings.top_p != null || !!settings.max_tokens);
}
