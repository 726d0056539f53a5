// Views of the conversation's messages: a message element, its actions,
// the per-reply stats line, the edit box and error rows. Pure rendering; the
// actions call back into the controller (conversation.js).

import { h, icon, clear, copyText, flash } from './dom.js';
import { renderInto } from './markdown.js';
import { versionSwitcher } from './versions.js';
import { typeset } from './math.js';

function actionBtn(name, label, onClick, extra) {
  const b = h('button', { type: 'button', class: 'act ' + (extra || ''), 'aria-label': label, title: label }, icon(name));
  b.addEventListener('click', onClick);
  return b;
}

function fmtMS(ms) {
  if (!ms && ms !== 0) return '';
  return ms < 1000 ? Math.round(ms) + ' ms' : (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
}

// statsText is the small line under a reply: model, tokens, time to first
// token and speed.
export function statsText(m) {
  const parts = [];
  if (m.model) parts.push(m.model);
  if (m.completion_tokens) parts.push(m.completion_tokens + ' tokens');
  if (m.ttft_ms) parts.push('TTFT ' + fmtMS(m.ttft_ms));
  if (m.completion_tokens && m.duration_ms) {
    const gen = m.duration_ms - (m.ttft_ms || 0);
    const secs = (gen > 0 ? gen : m.duration_ms) / 1000;
    if (secs > 0) parts.push((m.completion_tokens / secs).toFixed(1) + ' tok/s');
  }
  return parts.join(' · ');
}

// ended reports whether reply m broke off: it failed, or was interrupted
// (the server generating it stopped). Both show their error with Retry.
function ended(m) {
  return m.status === 'failed' || m.status === 'interrupted';
}

// MessageView owns one message's element; update() re-renders it in place
// so the streaming reply grows without rebuilding the thread.
export class MessageView {
  constructor(msg, ctl) {
    this.msg = msg;
    this.ctl = ctl;
    this.body = h('div', { class: msg.role === 'user' ? 'bubble' : 'md' });
    this.extra = h('div', { class: 'msg-extra' });
    this.foot = h('div', { class: 'msg-foot' });
    this.caret = h('span', { class: 'caret', 'aria-hidden': 'true' });
    this.md = null; // markdown.renderInto's state for this.body
    this.el = h('article', { class: 'msg ' + msg.role, 'data-role': msg.role },
      h('div', { class: 'msg-inner' }, this.body, this.extra, this.foot));
    if (msg.role === 'assistant') {
      // The reply announces itself to screen readers when it is complete
      // (aria-busy holds announcements while tokens arrive).
      this.body.setAttribute('aria-live', 'polite');
    }
    this.update();
  }

  update() {
    const m = this.msg;
    this.el.dataset.id = m.id || '';
    this.el.dataset.status = m.status || '';
    const streaming = m.status === 'streaming';
    this.el.classList.toggle('streaming', streaming);
    if (m.role === 'assistant') this.body.setAttribute('aria-busy', streaming ? 'true' : 'false');
    this.renderBody();
    this.renderExtra();
    this.renderFoot();
  }

  // renderBody only redraws the text; called at most once per frame while
  // a reply streams. The markdown state lets it rebuild only the blocks
  // that changed, so a long reply does not cost more per token as it grows.
  renderBody() {
    const m = this.msg;
    if (this.editing) return;
    if (m.role === 'user') {
      this.body.textContent = m.content;
      return;
    }
    this.caret.remove();
    this.md = renderInto(this.body, m.content, this.md);
    typeset(this.body);
    if (m.status === 'streaming') {
      const last = this.body.lastElementChild;
      const host = last && /^(P|LI|H\d)$/.test(last.tagName) ? last
        : last && (last.tagName === 'UL' || last.tagName === 'OL') && last.lastElementChild ? last.lastElementChild : this.body;
      host.appendChild(this.caret);
    }
  }

  renderExtra() {
    const m = this.msg;
    clear(this.extra);
    if (m.role === 'assistant' && ended(m)) {
      this.extra.appendChild(errorBox(m.error || 'The model failed to answer.', this.ctl.isLast(m) ? () => this.ctl.retry() : null));
    }
  }

  renderFoot() {
    const m = this.msg;
    const c = this.ctl;
    clear(this.foot);
    if (this.editing) return;
    const busy = c.busy();
    const versions = versionSwitcher(m, busy, (n) => c.selectVersion(m, n));
    if (versions) this.foot.appendChild(versions);
    const acts = h('div', { class: 'acts' });
    if (m.content) {
      const copy = actionBtn('copy', 'Copy message', async () => {
        if (await copyText(m.content)) flash(copy, 'Copied');
      }, 'copy-msg');
      acts.appendChild(copy);
    }
    if (m.role === 'user' && !busy && m.id && !m.id.startsWith('tmp-')) {
      acts.appendChild(actionBtn('pencil', 'Edit message', () => this.startEdit(), 'edit-msg'));
    }
    // A failed reply offers Retry in its error box instead.
    if (m.role === 'assistant' && !busy && c.isLast(m) && m.status !== 'streaming' && !ended(m)) {
      acts.appendChild(actionBtn('retry', 'Regenerate reply', () => c.retry(), 'retry-msg'));
    }
    this.foot.appendChild(acts);
    // A reply cut off by the length limit can go on where it stopped.
    if (m.role === 'assistant' && !busy && c.isLast(m) && m.status === 'complete' && m.finish_reason === 'length') {
      const b = h('button', { type: 'button', class: 'btn small continue-msg', title: 'The reply was cut off at the length limit: continue it' },
        icon('more'), 'Continue');
      b.addEventListener('click', () => c.continueReply());
      this.foot.appendChild(b);
    }
    if (m.role === 'assistant') {
      const stats = h('span', { class: 'stats', text: m.status === 'streaming' ? '' : statsText(m) });
      if (m.status === 'stopped') stats.prepend(h('span', { class: 'badge', text: 'Stopped' }));
      if (m.prompt_tokens) stats.title = m.prompt_tokens + ' prompt tokens' + (m.duration_ms ? ', ' + fmtMS(m.duration_ms) + ' total' : '');
      this.foot.appendChild(stats);
    }
  }

  startEdit() {
    const m = this.msg;
    this.editing = true;
    clear(this.body);
    this.body.classList.add('editing');
    const ta = h('textarea', { class: 'edit-input', 'aria-label': 'Edit message', rows: '3' });
    ta.value = m.content;
    const cancel = () => {
      this.editing = false;
      this.body.classList.remove('editing');
      this.update();
    };
    const submit = () => {
      const text = ta.value.trim();
      if (!text) return;
      this.editing = false;
      this.body.classList.remove('editing');
      this.ctl.editAndResend(m, text);
    };
    ta.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
      if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); cancel(); }
    });
    const row = h('div', { class: 'edit-actions' },
      h('button', { type: 'button', class: 'btn', text: 'Cancel', onclick: cancel }),
      h('button', { type: 'button', class: 'btn primary', text: 'Send', onclick: submit }));
    this.body.append(ta, row);
    clear(this.foot);
    ta.focus();
    ta.setSelectionRange(ta.value.length, ta.value.length);
  }
}

// contextDivider marks where the model's view of the conversation began
// for its latest reply: the messages above it were beyond its context
// window.
export function contextDivider() {
  return h('div', { class: 'context-divider', role: 'separator' },
    h('span', { text: 'earlier messages are beyond what the model can see' }));
}

// errorBox shows a failure inside the conversation, with Retry when it can
// be retried.
export function errorBox(text, onRetry) {
  const box = h('div', { class: 'msg-error', role: 'alert' }, icon('alert'), h('span', { class: 'err-text', text }));
  if (onRetry) {
    const b = h('button', { type: 'button', class: 'btn small err-retry' }, icon('retry'), 'Retry');
    b.addEventListener('click', onRetry);
    box.appendChild(b);
  }
  return box;
}

// errorRow is an error not tied to a stored message (the request itself
// failed: 429, 5xx, no connection).
export function errorRow(text, onRetry) {
  return h('article', { class: 'msg assistant error-row', 'data-role': 'error' },
    h('div', { class: 'msg-inner' }, errorBox(text, onRetry)));
}
