// The conversation controller: which chat is open (routing /c/{id}), its
// messages in the thread, and the replies streaming into it — sending,
// reading the event stream, attaching again after a reload or a broken
// connection, and Stop, Retry, Undo, Clear and edit-and-resend. The page
// around it is the chrome's (chrome.js).

import { api, APIError } from './api.js';
import { clear } from './dom.js';
import { MessageView, errorRow, contextDivider } from './thread.js';
import { customized } from './settings.js';
import {
  el, showTitle, nearBottom, scrollToBottom, updateToBottom, announce, showBanner, hideBanner,
  autosize, confirmDialog,
} from './chrome.js';

// conversationController drives the thread. sidebar is the conversation
// list it keeps in step; models is the ModelPicker whose value new replies
// use.
export function conversationController({ sidebar, models, onChat }) {
  const state = {
    id: null, // current conversation id; null for a new, unsaved chat
    conv: null,
    views: [], // MessageView per message, in order
    stream: null, // {id, ctl, stopping} while a reply streams here
    pendingSystem: '',
    pendingSettings: {},
    reattached: 0, // attaches in a row after streams that broke off
    loading: null, // the promise of the chat being loaded, if any
    sending: false, // send() is between Enter and its stream
    nav: 0, // bumps on navigation so late answers for another chat are dropped
  };

  const ctl = {
    busy: () => !!state.stream,
    isLast: (m) => state.views.length > 0 && state.views[state.views.length - 1].msg === m,
    retry: () => retry(),
    continueReply: () => continueReply(),
    editAndResend: (m, text) => editAndResend(m, text),
    selectVersion: (m, n) => selectVersion(m, n),
  };

  // ---- rendering ----

  function renderThread() {
    clear(el.thread);
    state.views = (state.conv ? state.conv.messages || [] : []).filter((m) => m.role !== 'system').map((m) => new MessageView(m, ctl));
    // Only now does the last view know it is last: its error box (a failed
    // or interrupted reply loaded from the server) gets its Retry.
    if (state.views.length) state.views[state.views.length - 1].renderExtra();
    for (const v of state.views) el.thread.appendChild(v.el);
    placeDivider();
    updateChrome();
    updateToBottom();
  }

  // placeDivider draws the divider above the oldest message the model saw
  // for its latest reply (context_from), when some message is above it.
  function placeDivider() {
    for (const d of el.thread.querySelectorAll('.context-divider')) d.remove();
    const latest = [...state.views].reverse().find((v) => v.msg.role === 'assistant' && v.msg.context_from);
    if (!latest) return;
    const i = state.views.findIndex((v) => v.msg.id === latest.msg.context_from);
    if (i > 0) el.thread.insertBefore(contextDivider(), state.views[i].el);
  }

  // wasBusy remembers whether a reply was running at the last update.
  let wasBusy = false;

  function updateChrome() {
    const n = state.views.length;
    const busy = !!state.stream;
    el.empty.hidden = n > 0 || el.thread.querySelector('.error-row') !== null;
    // The send and stop buttons take turns in one place: focus on the one
    // going away moves to its counterpart (or the message box), not to <body>.
    const focused = document.activeElement;
    el.send.hidden = busy;
    el.stop.hidden = !busy;
    // The Stop button is disabled while a stop is under way, which can drop
    // its focus to <body> before the reply ends: treat "nothing focused" at
    // the end of a reply like focus on Stop.
    const unfocused = !focused || focused === document.body;
    if (focused === el.send && busy) el.stop.focus();
    else if (!busy && wasBusy && (focused === el.stop || unfocused)) el.input.focus();
    wasBusy = busy;
    el.stop.disabled = busy && state.stream.stopping;
    el.retry.disabled = busy || n === 0;
    el.undo.disabled = busy || n === 0;
    el.clear.disabled = busy || n === 0;
    // Nothing to retry, undo or clear in an empty chat: no bar at all.
    el.toolbar.hidden = n === 0 && !busy;
    if (onChat) onChat(state.id);
    el.system.classList.toggle('active', !!currentSystem() || customized(currentSettings()));
    for (const v of state.views) if (!v.editing) v.renderFoot();
    el.app.classList.toggle('busy', busy);
  }

  function addErrorRow(text, onRetry) {
    const row = errorRow(text, onRetry ? () => { row.remove(); onRetry(); } : null);
    el.thread.appendChild(row);
    updateChrome();
    scrollToBottom();
    announce(text);
  }

  function clearErrorRows() {
    for (const r of el.thread.querySelectorAll('.error-row')) r.remove();
  }

  // ---- navigation ----

  function idFromPath() {
    const m = /^\/c\/([^/]+)\/?$/.exec(location.pathname);
    return m ? decodeURIComponent(m[1]) : null;
  }

  function detachStream() {
    // Leaving a chat stops reading its reply, not the reply itself: it keeps
    // running on the server and is re-attached when the chat is opened again.
    if (state.stream) state.stream.ctl.abort();
    state.stream = null;
  }

  function newChat(push) {
    detachStream();
    state.nav++;
    state.id = null;
    state.conv = null;
    state.pendingSystem = '';
    state.pendingSettings = {};
    if (push && location.pathname !== '/') history.pushState(null, '', '/');
    sidebar.setActive(null);
    clearErrorRows();
    renderThread();
    showTitle(state.conv);
    models.pick('');
    el.input.focus();
  }

  function openConversation(id, push) {
    if (push) history.pushState(null, '', '/c/' + encodeURIComponent(id));
    detachStream();
    const nav = ++state.nav;
    state.id = id;
    sidebar.setActive(id);
    // A message sent before the chat has loaded waits for it (send), so
    // that it lands after the messages it follows.
    const loading = loadConversation(id, nav);
    state.loading = loading;
    loading.finally(() => { if (state.loading === loading) state.loading = null; });
    return loading;
  }

  async function loadConversation(id, nav) {
    let conv;
    try {
      conv = await api.get(id);
    } catch (err) {
      if (nav !== state.nav) return;
      state.conv = null;
      renderThread();
      if (err instanceof APIError && err.status === 404) {
        history.replaceState(null, '', '/');
        state.id = null;
        showBanner(new Error('That conversation does not exist (it may have been deleted).'));
        showTitle(state.conv);
        return;
      }
      showBanner(err);
      return;
    }
    if (nav !== state.nav) return;
    hideBanner();
    conv.messages = conv.messages || [];
    state.conv = conv;
    clearErrorRows();
    renderThread();
    showTitle(state.conv);
    models.pick(conv.model);
    scrollToBottom();
    if (conv.running) {
      runStream(id, (onEvent, signal) => api.attach(id, onEvent, signal));
    }
  }

  function route() {
    const id = idFromPath();
    if (id) openConversation(id, false);
    else newChat(false);
  }

  // ---- streaming ----

  function viewFor(id) { return state.views.find((v) => v.msg.id === id); }

  // runStream drives one reply stream into the thread. start(onEvent, signal)
  // performs the request. onFail(err) handles a request that failed before
  // streaming (defaults to an error row with Retry); once the reply exists
  // on the server, a broken stream is not a failure of the reply, which runs
  // on there: the page re-attaches to it (reconcile).
  async function runStream(id, start, onFail) {
    const abort = new AbortController();
    const stream = { id, ctl: abort, stopping: false };
    state.stream = stream;
    updateChrome();
    announce('Assistant is replying…');
    let done = false;
    let started = false; // the server has stored the messages: the reply exists
    let pending = null; // the view whose text changed since the last frame
    const frame = () => {
      if (!pending) return;
      const stick = nearBottom();
      pending.renderBody();
      pending = null;
      if (stick) scrollToBottom(); else updateToBottom();
    };
    const onEvent = (name, data) => {
      if (state.stream !== stream) return;
      if (name === 'user') {
        started = true;
        const tmp = state.views.find((v) => v.msg.role === 'user' && v.msg.id.startsWith('tmp-'));
        if (tmp) { Object.assign(tmp.msg, data); tmp.update(); }
      } else if (name === 'assistant') {
        started = true;
        let v = viewFor(data.id);
        if (v) { Object.assign(v.msg, data); v.update(); } else {
          v = new MessageView({ ...data }, ctl);
          state.conv.messages.push(v.msg);
          state.views.push(v);
          el.thread.appendChild(v.el);
          updateChrome();
        }
        scrollToBottom();
      } else if (name === 'delta') {
        const v = viewFor(data.message_id);
        if (!v) return;
        v.msg.content += data.content || '';
        if (!pending) requestAnimationFrame(frame);
        pending = v;
      } else if (name === 'done') {
        done = true;
        state.reattached = 0;
        frame();
        const stick = nearBottom();
        const v = viewFor(data.id);
        if (v) { Object.assign(v.msg, data); v.update(); }
        placeDivider();
        if (stick) scrollToBottom();
        announce(data.status === 'failed' || data.status === 'interrupted' ? 'Reply failed: ' + (data.error || 'error')
          : data.status === 'stopped' ? 'Reply stopped.' : 'Reply complete.');
      }
    };
    let failure = null;
    try {
      await start(onEvent, abort.signal);
    } catch (err) {
      if (err && err.name === 'AbortError') return;
      failure = err;
    } finally {
      if (state.stream === stream) state.stream = null;
      updateChrome();
    }
    if (state.id !== id) return;
    if (failure && !started) {
      if (onFail) onFail(failure); else addErrorRow(failure.message, () => retry());
      return;
    }
    if (!done) {
      // The stream ended without its final event: the connection broke or
      // a proxy cut it, or nothing was running any more.
      await reconcile(id, failure);
    }
    sidebar.touch(id);
  }

  // reconcile shows what the server has for conversation id after a stream
  // ended early, and attaches again if the reply still runs there — a few
  // times, then it says so and offers to try again.
  async function reconcile(id, failure) {
    const nav = state.nav;
    let conv;
    try {
      conv = await api.get(id);
    } catch (err) {
      if (nav === state.nav) addErrorRow(err.message, () => reconcile(id, null));
      return;
    }
    if (nav !== state.nav || state.stream) return;
    conv.messages = conv.messages || [];
    state.conv = conv;
    clearErrorRows();
    renderThread();
    showTitle(state.conv);
    scrollToBottom();
    if (!conv.running) { state.reattached = 0; return; }
    state.reattached = (state.reattached || 0) + 1;
    if (state.reattached > 3) {
      state.reattached = 0;
      const text = (failure && failure.message) || 'The connection to the reply broke off.';
      addErrorRow(text + ' The reply is still running on the server.', () => reconcile(id, null));
      return;
    }
    await new Promise((r) => setTimeout(r, 250 * state.reattached));
    if (nav !== state.nav || state.stream) return;
    await runStream(id, (onEvent, signal) => api.attach(id, onEvent, signal));
  }

  // refresh reloads the open chat; false when that failed.
  async function refresh() {
    if (!state.id) return false;
    const nav = state.nav;
    try {
      const conv = await api.get(state.id);
      if (nav !== state.nav) return true;
      conv.messages = conv.messages || [];
      state.conv = conv;
      renderThread();
      showTitle(state.conv);
      scrollToBottom();
      return true;
    } catch (err) {
      showBanner(err);
      return false;
    }
  }

  // ---- sending and changing the conversation ----

  function appendTempUser(text) {
    const msg = { id: 'tmp-' + Date.now(), role: 'user', content: text, status: 'complete' };
    state.conv.messages.push(msg);
    const v = new MessageView(msg, ctl);
    state.views.push(v);
    el.thread.appendChild(v.el);
    updateChrome();
    scrollToBottom();
  }

  async function ensureConversation(firstText) {
    if (state.id) {
      if (!state.conv) state.conv = { id: state.id, messages: [] };
      return state.id;
    }
    const title = firstText.replace(/\s+/g, ' ').trim().slice(0, 60);
    const body = { title };
    if (models.value) body.model = models.value;
    if (state.pendingSystem) body.system_prompt = state.pendingSystem;
    if (customized(state.pendingSettings)) body.settings = state.pendingSettings;
    const conv = await api.create(body);
    conv.messages = conv.messages || [];
    state.nav++;
    state.id = conv.id;
    state.conv = conv;
    state.pendingSystem = '';
    state.pendingSettings = {};
    history.pushState(null, '', '/c/' + encodeURIComponent(conv.id));
    sidebar.upsert(conv);
    sidebar.setActive(conv.id);
    showTitle(state.conv);
    return conv.id;
  }

  // failedSend handles a send whose request failed: the server may or may
  // not have stored the user's message, so ask it, then offer Retry. When
  // it cannot be asked (the session ended), the text goes back into the
  // message box, so that nothing typed is lost.
  function failedSend(text) {
    return async (err) => {
      const known = await refresh();
      const last = state.views.length ? state.views[state.views.length - 1].msg : null;
      const stored = known && last && last.role === 'user' && last.content === text;
      if (!stored && !el.input.value) { el.input.value = text; autosize(); }
      addErrorRow(err.message, () => (stored ? retry() : send(text)));
    };
  }

  async function send(text) {
    text = text.trim();
    // state.sending covers the wait for the chat to load or be created: a
    // second Enter (or Enter and a click) then must not send twice, or
    // create two chats.
    if (!text || state.stream || state.sending) return;
    state.sending = true;
    try {
      if (state.loading) await state.loading;
      if (state.stream) return; // the chat that loaded has a reply running
      hideBanner();
      clearErrorRows();
      let id;
      try {
        id = await ensureConversation(text);
      } catch (err) {
        showBanner(err);
        return;
      }
      el.input.value = '';
      autosize();
      appendTempUser(text);
      await runStream(id, (onEvent, signal) => api.send(id, text, models.value, onEvent, signal), failedSend(text));
    } finally {
      state.sending = false;
    }
  }

  function dropViewsFrom(index) {
    for (const v of state.views.splice(index)) v.el.remove();
    state.conv.messages = state.views.map((v) => v.msg);
  }

  async function retry() {
    if (state.stream || !state.id) return;
    clearErrorRows();
    hideBanner();
    const id = state.id;
    const last = state.views.length ? state.views[state.views.length - 1].msg : null;
    if (!last) return;
    if (last.role === 'user') {
      // No reply to regenerate (it never started): resend the same text.
      await editAndResend(last, last.content);
      return;
    }
    dropViewsFrom(state.views.length - 1);
    updateChrome();
    await runStream(id, (onEvent, signal) => api.regenerate(id, models.value, onEvent, signal));
  }

  // continueReply has the model go on with the last reply, in place.
  async function continueReply() {
    if (state.stream || !state.id || !state.views.length) return;
    clearErrorRows();
    hideBanner();
    const id = state.id;
    await runStream(id, (onEvent, signal) => api.continueReply(id, models.value, onEvent, signal),
      (err) => addErrorRow(err.message, () => continueReply()));
  }

  async function editAndResend(m, text) {
    if (state.stream || !state.id) return;
    clearErrorRows();
    const id = state.id;
    const idx = state.views.findIndex((v) => v.msg === m);
    if (idx < 0) return;
    dropViewsFrom(idx);
    appendTempUser(text);
    await runStream(id, (onEvent, signal) => api.edit(id, m.id, text, models.value, onEvent, signal));
  }

  async function stop() {
    const s = state.stream;
    if (!s || s.stopping) return;
    s.stopping = true;
    updateChrome();
    try {
      await api.stop(s.id);
    } catch (err) {
      s.stopping = false;
      updateChrome();
      showBanner(err);
    }
  }

  async function undo() {
    if (state.stream || !state.id || !state.views.length) return;
    try {
      const lastUser = [...state.views].reverse().find((v) => v.msg.role === 'user');
      const conv = await api.undo(state.id);
      state.conv = { ...state.conv, ...conv, messages: conv.messages || [] };
      clearErrorRows();
      renderThread();
      // Like the seed's Undo: the removed question comes back for editing.
      if (lastUser && !el.input.value.trim()) { el.input.value = lastUser.msg.content; autosize(); el.input.focus(); }
    } catch (err) {
      showBanner(err);
    }
  }

  // selectVersion shows version n of message m's turn, with what followed
  // it, as the server answers; focus stays on the switcher of that turn.
  async function selectVersion(m, n) {
    if (state.stream || !state.id) return;
    const at = state.views.findIndex((v) => v.msg === m);
    const dir = n < (m.version || 0) ? '.ver-prev' : '.ver-next';
    try {
      const conv = await api.version(state.id, m.id, n);
      state.conv = { ...state.conv, ...conv, messages: conv.messages || [] };
      clearErrorRows();
      renderThread();
      const v = state.views[at];
      if (v) {
        const b = v.el.querySelector(dir + ':not(:disabled)') || v.el.querySelector('.versions button:not(:disabled)');
        if (b) b.focus({ preventScroll: true });
      }
      announce('Version ' + n + ' shown.');
    } catch (err) {
      showBanner(err);
    }
  }

  async function clearConversation() {
    if (state.stream || !state.id || !state.views.length) return;
    if (!(await confirmDialog('Clear chat?', 'All messages in this chat will be removed.', 'Clear'))) return;
    try {
      const conv = await api.clear(state.id);
      state.conv = { ...state.conv, ...conv, messages: conv.messages || [] };
      clearErrorRows();
      renderThread();
      // The Clear button is gone with the messages: the next thing to do
      // is to write.
      el.input.focus();
    } catch (err) {
      showBanner(err);
    }
  }

  // ---- settings of the open chat ----

  function currentSystem() {
    return state.id && state.conv ? state.conv.system_prompt || '' : state.pendingSystem;
  }

  async function saveSystem(value) {
    if (!state.id) { state.pendingSystem = value; updateChrome(); return; }
    try {
      const conv = await api.patch(state.id, { system_prompt: value });
      state.conv.system_prompt = conv.system_prompt;
      updateChrome();
    } catch (err) {
      showBanner(err);
    }
  }

  function currentSettings() {
    return state.id && state.conv ? state.conv.settings || {} : state.pendingSettings;
  }

  // saveSettings stores the settings dialog's system prompt and
  // generation settings (a new chat keeps them until it is created).
  async function saveSettings({ system_prompt: system, settings }) {
    if (!state.id) { state.pendingSystem = system; state.pendingSettings = settings; updateChrome(); return; }
    try {
      const conv = await api.patch(state.id, { system_prompt: system, settings });
      state.conv.system_prompt = conv.system_prompt;
      state.conv.settings = conv.settings;
      updateChrome();
    } catch (err) {
      showBanner(err);
    }
  }

  async function modelChanged(model) {
    if (state.id) {
      try { await api.patch(state.id, { model }); } catch (err) { showBanner(err); }
    }
  }

  return {
    busy: ctl.busy,
    route, newChat, openConversation, send, stop, retry, undo, clearConversation,
    currentSystem, saveSystem, modelChanged, saveSettings,
    currentSettings: () => ({ system_prompt: currentSystem(), settings: currentSettings() }),
    convModel: () => (state.conv ? state.conv.model : ''),
    currentId: () => state.id,
    // The sidebar's changes to the open chat.
    deleted: (id) => { if (id === state.id) newChat(true); },
    renamed: (c) => { if (c.id === state.id) { state.conv.title = c.title; showTitle(state.conv); } },
  };
}
