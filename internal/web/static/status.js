// Model status on page load: whether the models behind the picker can be
// reached, asked of /api/models (what the api's model backend serves) and
// /readyz (whether it answers now). When none can, the page says so above
// the message box before anything is typed, and offers to check again.

import { api } from './api.js';
import { h } from './dom.js';
import { el } from './chrome.js';

// readiness reads /readyz: null when it cannot tell (a web service in
// split mode answers for itself only), else the model check's failure
// ("" when it passes).
async function readiness() {
  try {
    const res = await fetch('/readyz', { headers: { Accept: 'application/json' } });
    const body = await res.json();
    const model = body && body.checks && body.checks.model;
    if (typeof model !== 'string') return null;
    return model === 'ok' ? '' : model.replace(/^failing: /, '');
  } catch {
    return null;
  }
}

export function modelStatus() {
  const text = h('span', { class: 'model-status-text' });
  const again = h('button', { type: 'button', class: 'link-btn', text: 'Check again' });
  const box = h('div', { class: 'model-status', id: 'model-status', role: 'status' }, text, ' ', again);
  box.hidden = true;
  el.toolbar.parentElement.insertBefore(box, el.toolbar);

  async function check() {
    again.disabled = true;
    const [models, ready] = await Promise.all([
      api.apiModels().then((r) => ({ ids: (r.data || []).map((m) => m.id) }), (err) => ({ err })),
      readiness(),
    ]);
    again.disabled = false;
    let problem = '';
    if (models.err) problem = models.err.message;
    else if (!models.ids.length) problem = 'the model backend serves no model';
    else if (ready) problem = ready;
    el.model.dataset.status = problem ? 'down' : 'ready';
    el.model.title = problem ? 'No model is reachable' : 'Model reachable';
    for (const o of el.model.options) {
      if (!o.dataset.label) o.dataset.label = o.textContent;
      o.textContent = problem ? o.dataset.label + ' (unreachable)' : o.dataset.label;
    }
    text.textContent = problem
      ? 'No model is reachable right now (' + problem.replace(/\.$/, '') + '). Your chats are here; replies will fail until a model answers.'
      : '';
    box.hidden = !problem;
    return !problem;
  }
  again.addEventListener('click', check);
  return { check };
}
