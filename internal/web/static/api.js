// The api client: JSON calls and the SSE reply stream (read from fetch, as
// EventSource cannot POST), following docs/API.md.

export class APIError extends Error {
  constructor(status, type, message, code) {
    super(message);
    this.status = status;
    this.type = type || '';
    this.code = code || '';
  }
}

// unauthorized, when set, is told of every 401 outside /api/auth/: the
// session ended (expired, signed out elsewhere, account disabled), so the
// page asks the user to sign in again.
let unauthorized = null;

export function onUnauthorized(fn) { unauthorized = fn; }

const NETWORK_MESSAGE = 'Cannot reach the Parley server. Check that it is running and try again.';

async function errorFrom(res) {
  let body = null;
  try { body = await res.json(); } catch { body = null; }
  const e = body && body.error;
  if (e && typeof e.message === 'string') return new APIError(res.status, e.type, e.message, e.code);
  const text = res.status === 502 || res.status === 503 || res.status === 504
    ? 'The server is unavailable right now (HTTP ' + res.status + '). Try again shortly.'
    : 'The server answered with HTTP ' + res.status + '.';
  return new APIError(res.status, 'http_error', text, '');
}

async function send(method, path, body, signal) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: body !== undefined ? { 'Content-Type': 'application/json', Accept: 'application/json' } : { Accept: 'application/json' },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal,
    });
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new APIError(0, 'network_error', NETWORK_MESSAGE, '');
  }
  if (res.status === 401 && unauthorized && !path.startsWith('/api/auth/')) unauthorized();
  return res;
}

async function json(method, path, body, signal) {
  const res = await send(method, path, body, signal);
  if (!res.ok) throw await errorFrom(res);
  if (res.status === 204) return null;
  try { return await res.json(); } catch { throw new APIError(res.status, 'http_error', 'The server sent a malformed answer.', ''); }
}

const enc = encodeURIComponent;

// stream performs a request answered with the reply stream and calls
// onEvent(name, data) for each event. It resolves with true when the
// stream ended, false when the server answered 204 (nothing running).
async function stream(method, path, body, onEvent, signal) {
  const res = await send(method, path, body, signal);
  if (res.status === 204) return false;
  if (!res.ok) throw await errorFrom(res);
  const type = res.headers.get('Content-Type') || '';
  if (!type.includes('text/event-stream')) {
    throw new APIError(res.status, 'http_error', 'The server did not stream the reply.', '');
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let event = 'message';
  let data = [];
  const dispatch = () => {
    if (data.length) {
      let payload;
      try { payload = JSON.parse(data.join('\n')); } catch { payload = null; }
      if (payload !== null) onEvent(event, payload);
    }
    event = 'message';
    data = [];
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        let line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.endsWith('\r')) line = line.slice(0, -1);
        if (line === '') { dispatch(); continue; }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value2 = colon < 0 ? '' : line.slice(colon + 1);
        if (value2.startsWith(' ')) value2 = value2.slice(1);
        if (field === 'event') event = value2;
        else if (field === 'data') data.push(value2);
      }
    }
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new APIError(0, 'network_error', 'The connection to the server broke off.', '');
  }
  dispatch();
  return true;
}

export const api = {
  authOptions: () => json('GET', '/api/auth/options'),
  me: () => json('GET', '/api/auth/me'),
  signup: (username, password) => json('POST', '/api/auth/signup', { username, password }),
  login: (username, password) => json('POST', '/api/auth/login', { username, password }),
  logout: () => json('POST', '/api/auth/logout'),
  keys: () => json('GET', '/api/keys'),
  createKey: (name) => json('POST', '/api/keys', { name }),
  deleteKey: (id) => json('DELETE', '/api/keys/' + enc(id)),
  users: () => json('GET', '/api/admin/users'),
  createUser: (body) => json('POST', '/api/admin/users', body),
  patchUser: (id, body) => json('PATCH', '/api/admin/users/' + enc(id), body),
  deleteUser: (id) => json('DELETE', '/api/admin/users/' + enc(id)),
  settings: () => json('GET', '/api/admin/settings'),
  patchSettings: (body) => json('PATCH', '/api/admin/settings', body),
  models: (signal) => json('GET', '/v1/models', undefined, signal),
  apiModels: (signal) => json('GET', '/api/models', undefined, signal),
  list: ({ limit = 30, cursor = '', q = '', pinned = '' } = {}, signal) => {
    const p = new URLSearchParams({ limit: String(limit) });
    if (pinned) p.set('pinned', pinned);
    if (cursor) p.set('cursor', cursor);
    if (q) p.set('q', q);
    // Chats without messages (a send that never got through) are clutter.
    p.set('skip_empty', 'true');
    return json('GET', '/api/conversations?' + p, undefined, signal);
  },
  get: (id, signal) => json('GET', '/api/conversations/' + enc(id), undefined, signal),
  create: (body) => json('POST', '/api/conversations', body),
  patch: (id, body) => json('PATCH', '/api/conversations/' + enc(id), body),
  remove: (id) => json('DELETE', '/api/conversations/' + enc(id)),
  undo: (id) => json('POST', '/api/conversations/' + enc(id) + '/undo'),
  clear: (id) => json('POST', '/api/conversations/' + enc(id) + '/clear'),
  stop: (id) => json('POST', '/api/conversations/' + enc(id) + '/stop'),
  send: (id, content, model, onEvent, signal) =>
    stream('POST', '/api/conversations/' + enc(id) + '/messages', { content, model: model || undefined, stream: true }, onEvent, signal),
  regenerate: (id, model, onEvent, signal) =>
    stream('POST', '/api/conversations/' + enc(id) + '/regenerate', { model: model || undefined, stream: true }, onEvent, signal),
  continueReply: (id, model, onEvent, signal) =>
    stream('POST', '/api/conversations/' + enc(id) + '/continue', { model: model || undefined, stream: true }, onEvent, signal),
  edit: (id, messageID, content, model, onEvent, signal) =>
    stream('POST', '/api/conversations/' + enc(id) + '/messages/' + enc(messageID) + '/edit',
      { content, model: model || undefined, stream: true }, onEvent, signal),
  version: (id, messageID, version) =>
    json('POST', '/api/conversations/' + enc(id) + '/messages/' + enc(messageID) + '/versions', { version }),
  importConversation: (body) => json('POST', '/api/conversations/import', body),
  attach: (id, onEvent, signal) => stream('GET', '/api/conversations/' + enc(id) + '/stream', undefined, onEvent, signal),
};
