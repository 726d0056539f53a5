// Markdown to DOM, safely. The text is parsed here and every node is built
// with createElement/createTextNode: raw HTML in the text stays text, and
// links are kept only for http, https and mailto URLs. It handles what chat
// models write: paragraphs, headings, lists (nested), block quotes, fenced
// code, tables, rules, and inline code, emphasis, strike-through and links.
// Unclosed constructs (a reply still streaming) render sensibly.

import { entityAt } from './entities.js';
import { mathAt, mathNode } from './math.js';
import { highlight, languageOf } from './highlight.js';
import { h, icon, copyText, flash } from './dom.js';

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const HEADING_START = /^ {0,3}(#{1,6})(?:[ \t]|$)/;
const HR = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const LIST_ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])(\s+|$)(.*)$/;
// Matched against a trimmed line: every regular expression here runs in
// time linear in the line, because model output can be anything (a heading
// followed by thousands of spaces once took a cubic-time pattern minutes).
const TABLE_SEP = /^\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?$/;
// Deeper nesting than this (quotes in quotes, lists in lists) is shown as
// text: real replies never go near it, and unbounded recursion could be
// made to exhaust the stack or take quadratic time.
const MAX_DEPTH = 12;

// render returns a DocumentFragment for markdown text.
export function render(text) {
  const frag = document.createDocumentFragment();
  for (const node of blocks(splitLines(text), 0)) frag.appendChild(node);
  return frag;
}

// renderInto makes el show text and returns the state to pass to the next
// call for the same element. A streaming reply only ever grows at the end,
// so the blocks whose source did not change keep their elements and only
// the rest is built again: rendering each frame costs (about) the size of
// the last block, not of the whole reply.
export function renderInto(el, text, prev) {
  const lines = splitLines(text);
  const segs = scan(lines, 0);
  let old = prev && prev.el === el ? prev.blocks : null;
  if (old && (el.childNodes.length !== old.length || old.some((b, k) => el.childNodes[k] !== b.node))) old = null;
  if (!old) {
    while (el.firstChild) el.removeChild(el.firstChild);
    old = [];
  }
  const next = [];
  let k = 0;
  for (; k < segs.length; k++) {
    const src = lines.slice(segs[k].start, segs[k].end).join('\n');
    if (k >= old.length || old[k].src !== src || old[k].kind !== segs[k].kind) break;
    next.push(old[k]);
  }
  for (let m = k; m < old.length; m++) el.removeChild(old[m].node);
  for (; k < segs.length; k++) {
    const node = segs[k].build();
    el.appendChild(node);
    next.push({ src: lines.slice(segs[k].start, segs[k].end).join('\n'), kind: segs[k].kind, node });
  }
  return { el, blocks: next };
}

function splitLines(text) {
  return String(text || '').replace(/\r\n?/g, '\n').split('\n');
}

function isBlank(s) { return s.trim() === ''; }

// fenceOf returns [marker, info] when line opens a code fence.
function fenceOf(line) {
  const m = FENCE.exec(line);
  if (!m) return null;
  // A backtick fence's info string may not hold a backtick (that is
  // inline code: ```a``` on one line).
  if (m[1][0] === '`' && m[2].includes('`')) return null;
  return [m[1], m[2].trim().split(/\s/)[0]];
}

// headingOf returns [level, text] when line is an ATX heading.
function headingOf(line) {
  const m = HEADING_START.exec(line);
  if (!m) return null;
  let t = line.slice(m[0].length).trim();
  // An optional closing run of #s, if it stands apart ("## Two ##").
  let e = t.length;
  while (e > 0 && t[e - 1] === '#') e--;
  if (e === 0) t = '';
  else if (e < t.length && /[ \t]/.test(t[e - 1])) t = t.slice(0, e).trimEnd();
  return [m[1].length, t];
}

function isTableStart(line, next) {
  return line.includes('|') && next !== undefined && next.includes('-') && TABLE_SEP.test(next.trim());
}

function startsBlock(line, next) {
  return fenceOf(line) !== null || headingOf(line) !== null || HR.test(line) || QUOTE.test(line) ||
    LIST_ITEM.test(line) && !isBlank(line.replace(LIST_ITEM, '$4')) ||
    isTableStart(line, next);
}

function blocks(lines, depth) {
  return scan(lines, depth).map((s) => s.build());
}

// scan splits lines into blocks without building anything: each is
// {kind, start, end, build}, lines[start:end] being its source, and
// build() its element (a function of that source alone).
function scan(lines, depth) {
  const out = [];
  if (depth > MAX_DEPTH) {
    const text = lines.join('\n').trim();
    if (text) out.push({ kind: 'deep', start: 0, end: lines.length, build: () => h('p', { text }) });
    return out;
  }
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const start = i;
    if (isBlank(line)) { i++; continue; }
    let m;
    if ((m = fenceOf(line))) {
      const [fence, info] = m;
      const body = [];
      i++;
      while (i < lines.length) {
        const t = lines[i].trim();
        if (t.startsWith(fence[0].repeat(fence.length)) && /^[`~]+$/.test(t)) { i++; break; }
        body.push(lines[i]);
        i++;
      }
      out.push({ kind: 'code', start, end: i, build: () => codeBlock(body.join('\n'), info) });
      continue;
    }
    if ((m = headingOf(line))) {
      const [level, text] = m;
      i++;
      out.push({ kind: 'h', start, end: i, build: () => h('h' + level, null, inline(text, depth)) });
      continue;
    }
    if (HR.test(line)) { i++; out.push({ kind: 'hr', start, end: i, build: () => h('hr') }); continue; }
    if (QUOTE.test(line)) {
      const inner = [];
      while (i < lines.length && !isBlank(lines[i])) {
        const q = QUOTE.exec(lines[i]);
        inner.push(q ? q[1] : lines[i]);
        i++;
      }
      out.push({ kind: 'quote', start, end: i, build: () => h('blockquote', null, blocks(inner, depth + 1)) });
      continue;
    }
    if (LIST_ITEM.test(line)) {
      const l = list(lines, i, depth);
      i = l.end;
      out.push({ kind: 'list', start, end: i, build: l.build });
      continue;
    }
    if (isTableStart(line, lines[i + 1])) {
      const t = table(lines, i, depth);
      i = t.end;
      out.push({ kind: 'table', start, end: i, build: t.build });
      continue;
    }
    const para = [line];
    i++;
    while (i < lines.length && !isBlank(lines[i]) && !startsBlock(lines[i], lines[i + 1])) {
      para.push(lines[i]);
      i++;
    }
    out.push({ kind: 'p', start, end: i, build: () => h('p', null, inline(para.map((l) => l.trim()).join('\n'), depth)) });
  }
  return out;
}

function list(lines, start, depth) {
  const first = LIST_ITEM.exec(lines[start]);
  const ordered = /\d/.test(first[2]);
  const n = parseInt(first[2], 10);
  let i = start;
  let loose = false;
  const items = [];
  while (i < lines.length) {
    const m = LIST_ITEM.exec(lines[i]);
    if (!m || /\d/.test(m[2]) !== ordered) break;
    const indent = m[1].length + m[2].length + Math.max(1, Math.min(m[3].length, 4));
    const body = [m[4]];
    i++;
    while (i < lines.length) {
      const l = lines[i];
      if (isBlank(l)) {
        // A blank line continues the item only if indented text follows.
        let j = i + 1;
        while (j < lines.length && isBlank(lines[j])) j++;
        if (j < lines.length && leadingSpaces(lines[j]) >= indent) {
          loose = true;
          for (; i < j; i++) body.push('');
          continue;
        }
        if (j < lines.length && LIST_ITEM.test(lines[j]) && leadingSpaces(lines[j]) < indent) {
          const nm = LIST_ITEM.exec(lines[j]);
          if (/\d/.test(nm[2]) === ordered) { loose = true; i = j; }
        }
        break;
      }
      const sp = leadingSpaces(l);
      if (sp >= indent) { body.push(l.slice(indent)); i++; continue; }
      if (sp < indent && LIST_ITEM.test(l)) break;
      if (startsBlock(l, lines[i + 1])) break;
      body.push(l.trim()); // lazy continuation of the paragraph
      i++;
    }
    items.push(body);
  }
  const build = () => {
    const el = h(ordered ? 'ol' : 'ul');
    if (ordered && n !== 1) el.setAttribute('start', String(n));
    for (const body of items) {
      const li = h('li');
      for (const k of blocks(body, depth + 1)) {
        // Tight lists keep their text out of <p> so they read compactly.
        if (!loose && k.tagName === 'P') { while (k.firstChild) li.appendChild(k.firstChild); } else li.appendChild(k);
      }
      el.appendChild(li);
    }
    return el;
  };
  return { end: i, build };
}

function leadingSpaces(s) {
  let n = 0;
  for (const c of s) {
    if (c === ' ') n++;
    else if (c === '\t') n += 4;
    else break;
  }
  return n;
}

function splitRow(line) {
  let s = line.trim();
  if (s.startsWith('|')) s = s.slice(1);
  if (s.endsWith('|') && !s.endsWith('\\|')) s = s.slice(0, -1);
  const cells = [];
  let cur = '';
  let inCode = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && s[i + 1] === '|') { cur += '|'; i++; continue; }
    if (c === '`') inCode = !inCode;
    if (c === '|' && !inCode) { cells.push(cur.trim()); cur = ''; continue; }
    cur += c;
  }
  cells.push(cur.trim());
  return cells;
}

function table(lines, start, depth) {
  const head = splitRow(lines[start]);
  const aligns = splitRow(lines[start + 1]).map((c) => {
    const l = c.startsWith(':');
    const r = c.endsWith(':');
    return l && r ? 'center' : r ? 'right' : l ? 'left' : '';
  });
  let i = start + 2;
  const rows = [];
  while (i < lines.length && !isBlank(lines[i]) && lines[i].includes('|')) {
    rows.push(splitRow(lines[i]));
    i++;
  }
  const cell = (tag, text, k) => {
    const td = h(tag, null, inline(text, depth));
    if (aligns[k]) td.className = 'align-' + aligns[k];
    return td;
  };
  const build = () => {
    const thead = h('thead', null, h('tr', null, head.map((c, k) => cell('th', c, k))));
    const tbody = h('tbody');
    for (const cells of rows) {
      const tr = h('tr');
      for (let k = 0; k < head.length; k++) tr.appendChild(cell('td', cells[k] || '', k));
      tbody.appendChild(tr);
    }
    return h('div', { class: 'table-wrap' }, h('table', null, thead, tbody));
  };
  return { end: i, build };
}

function codeBlock(code, info) {
  const label = (info || '').replace(/^\{?\.?/, '').replace(/\}$/, '');
  const lang = languageOf(label);
  const codeEl = h('code', { class: lang ? 'lang-' + lang : null });
  codeEl.appendChild(highlight(code, lang));
  const btn = h('button', { type: 'button', class: 'code-copy', 'aria-label': 'Copy code' }, icon('copy'), h('span', { text: 'Copy' }));
  btn.addEventListener('click', async () => {
    if (await copyText(code)) flash(btn, 'Copied');
  });
  return h('div', { class: 'code-block' },
    h('div', { class: 'code-head' }, h('span', { class: 'code-lang', text: label || 'text' }), btn),
    h('pre', null, codeEl));
}

// safeHref returns an absolute http(s) or mailto URL, or '' for anything
// else (javascript:, data:, relative paths, garbage).
export function safeHref(raw) {
  // Browsers ignore control characters and whitespace inside schemes
  // ("java\tscript:"), so strip them before deciding.
  const s = String(raw || '').replace(/[\u0000-\u0020\u007f-\u009f]/g, '');
  let u;
  try { u = new URL(s); } catch { return ''; }
  if (u.protocol === 'http:' || u.protocol === 'https:' || u.protocol === 'mailto:') return u.href;
  return '';
}

function link(href, children) {
  const safe = safeHref(href);
  if (!safe) return null;
  return h('a', { href: safe, target: '_blank', rel: 'noopener noreferrer nofollow' }, children);
}

const PUNCT = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/;
const BARE_URL = /^(?:https?:\/\/|mailto:)[^\s<>"'`]*[^\s<>"'`.,;:!?)\]}*_~]/;
const AUTOLINK = /<((?:https?:\/\/|mailto:)[^\s<>]{1,2048})>/y;
// Link destinations longer than this are not links (real URLs are far
// shorter), which bounds the scan for a ")" that never comes.
const MAX_DEST = 2048;

// inline parses inline markdown into an array of nodes. It runs in linear
// time however the text is made: each search for a closing delimiter that
// failed is remembered, so a thousand unmatched "*" or "[" do not each scan
// the rest of the text.
export function inline(text, depth = 0) {
  const cx = { text, depth, noneFrom: new Map(), pairs: null };
  const out = [];
  let buf = '';
  const flush = () => { if (buf) { out.push(document.createTextNode(buf)); buf = ''; } };
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text[i];
    if (c === '$' || (c === '\\' && (text[i + 1] === '(' || text[i + 1] === '['))) {
      const m = mathAt(text, i);
      if (m) { flush(); out.push(mathNode(m)); i = m.end; continue; }
    }
    if (c === '\\' && i + 1 < n && PUNCT.test(text[i + 1])) { buf += text[i + 1]; i += 2; continue; }
    if (c === '\\' && text[i + 1] === '\n') { flush(); out.push(h('br')); i += 2; continue; }
    if (c === '\n') { flush(); out.push(h('br')); i++; continue; }
    if (c === '&') {
      const e = entityAt(text, i);
      if (e) { buf += e.text; i = e.end; continue; }
    }
    if (c === '`') {
      let run = 1;
      while (text[i + run] === '`') run++;
      const fence = '`'.repeat(run);
      const end = find(cx, fence, i + run);
      if (end > 0) {
        flush();
        let code = text.slice(i + run, end).replace(/\n/g, ' ');
        if (/^ .* $/.test(code)) code = code.slice(1, -1);
        out.push(h('code', { text: code }));
        i = end + run;
        continue;
      }
      buf += fence;
      i += run;
      continue;
    }
    if (c === '!' && text[i + 1] === '[') {
      // Images are not loaded (they could track the reader); show a link.
      const m = linkAt(cx, i + 1);
      if (m) {
        flush();
        const a = link(m.href, m.label || m.href);
        out.push(a || document.createTextNode(m.label));
        i = m.end;
        continue;
      }
    }
    if (c === '[') {
      const m = linkAt(cx, i);
      if (m) {
        flush();
        const label = depth < MAX_DEPTH ? inline(m.label, depth + 1) : [m.label];
        const a = link(m.href, label);
        if (a) out.push(a);
        else out.push(...label);
        i = m.end;
        continue;
      }
    }
    if (c === '<') {
      AUTOLINK.lastIndex = i;
      const m = AUTOLINK.exec(text);
      if (m) {
        const a = link(m[1], m[1]);
        if (a) { flush(); out.push(a); i += m[0].length; continue; }
      }
    }
    if ((c === 'h' || c === 'm') && (i === 0 || !/[\w/]/.test(text[i - 1]))) {
      const m = BARE_URL.exec(text.slice(i, i + MAX_DEST));
      if (m) {
        const a = link(m[0], m[0]);
        if (a) { flush(); out.push(a); i += m[0].length; continue; }
      }
    }
    if ((c === '*' || c === '_' || c === '~') && depth < MAX_DEPTH) {
      const r = emphasisAt(cx, i);
      if (r) {
        flush();
        out.push(r.node);
        i = r.end;
        continue;
      }
    }
    buf += c;
    i++;
  }
  flush();
  return out;
}

// find is text.indexOf(s, from) that remembers failures: once s is not
// found from some point on, it is not found from any later point either.
function find(cx, s, from) {
  const none = cx.noneFrom.get(s);
  if (none !== undefined && from >= none) return -1;
  const at = cx.text.indexOf(s, from);
  if (at < 0) cx.noneFrom.set(s, none === undefined ? from : Math.min(none, from));
  return at;
}

// bracketPairs maps the index of each "[" to that of its matching "]"
// (escaped brackets do not count), and of each "(" to its ")" on the same
// line, in one pass.
function bracketPairs(text) {
  const pairs = new Map();
  const square = [];
  let round = [];
  for (let j = 0; j < text.length; j++) {
    const c = text[j];
    if (c === '\\') {
      // An escape hides the next bracket but not a parenthesis (link
      // destinations take backslashes literally).
      if (text[j + 1] === '[' || text[j + 1] === ']' || text[j + 1] === '\\') j++;
      continue;
    }
    if (c === '[') square.push(j);
    else if (c === ']' && square.length) pairs.set(square.pop(), j);
    else if (c === '(') round.push(j);
    else if (c === ')' && round.length) pairs.set(round.pop(), j);
    else if (c === '\n') round = [];
  }
  return pairs;
}

// linkAt parses "[label](href "title")" starting at the "[" at i.
function linkAt(cx, i) {
  const text = cx.text;
  if (!cx.pairs) cx.pairs = bracketPairs(text);
  const j = cx.pairs.get(i);
  if (j === undefined || text[j + 1] !== '(') return null;
  const label = text.slice(i + 1, j);
  const k = cx.pairs.get(j + 1);
  if (k === undefined || k - j > MAX_DEST) return null;
  let dest = text.slice(j + 2, k).trim();
  const t = /^(\S+)\s+["'(].*["')]$/.exec(dest);
  if (t) dest = t[1];
  if (dest.startsWith('<') && dest.endsWith('>')) dest = dest.slice(1, -1);
  return { label, href: dest, end: k + 1 };
}

// emphasisAt handles **strong**, *em*, __strong__, _em_ and ~~del~~ at i.
function emphasisAt(cx, i) {
  const text = cx.text;
  const c = text[i];
  let run = 1;
  while (text[i + run] === c) run++;
  if (c === '~' && run < 2) return null;
  const size = c === '~' ? 2 : Math.min(run, 3);
  const after = text[i + size];
  if (after === undefined || /\s/.test(after)) return null;
  // Intraword underscores (snake_case) are not emphasis.
  if (c === '_' && i > 0 && /\w/.test(text[i - 1])) return null;
  const delim = c.repeat(size);
  // Whether a delimiter run at j can close does not depend on the opener,
  // so "no closer after p" holds for every later opener too.
  const key = 'close' + delim;
  const none = cx.noneFrom.get(key);
  const from = i + size + 1;
  if (none !== undefined && from >= none) return null;
  let j = from;
  while (true) {
    j = text.indexOf(delim, j);
    if (j < 0) {
      cx.noneFrom.set(key, none === undefined ? from : Math.min(none, from));
      return null;
    }
    if (!/\s/.test(text[j - 1]) && text[j + size] !== c &&
        !(c === '_' && /\w/.test(text[j + size] || ''))) break;
    j++;
  }
  const inner = inline(text.slice(i + size, j), cx.depth + 1);
  let node;
  if (c === '~') node = h('del', null, inner);
  else if (size === 3) node = h('strong', null, h('em', null, inner));
  else if (size === 2) node = h('strong', null, inner);
  else node = h('em', null, inner);
  return { node, end: j + size };
}
