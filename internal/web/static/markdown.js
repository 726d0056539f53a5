// Markdown to DOM, safely. The text is parsed here and every node is built
// with createElement/createTextNode: raw HTML in the text stays text, and
// links are kept only for http, https and mailto URLs. It handles what chat
// models write: paragraphs, headings, lists (nested), block quotes, fenced
// code, tables, rules, and inline code, emphasis, strike-through and links.
// Unclosed constructs (a reply still streaming) render sensibly.

import { highlight, languageOf } from './highlight.js';
import { h, icon, copyText, flash } from './dom.js';

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;
const HEADING = /^ {0,3}(#{1,6})(?:\s+(.*?))?\s*#*\s*$/;
const HR = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const LIST_ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])(\s+|$)(.*)$/;
const TABLE_SEP = /^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$/;

// render returns a DocumentFragment for markdown text.
export function render(text) {
  const frag = document.createDocumentFragment();
  const lines = String(text || '').replace(/\r\n?/g, '\n').split('\n');
  for (const node of blocks(lines)) frag.appendChild(node);
  return frag;
}

function isBlank(s) { return /^\s*$/.test(s); }

function startsBlock(line, next) {
  return FENCE.test(line) || HEADING.test(line) || HR.test(line) || QUOTE.test(line) ||
    LIST_ITEM.test(line) && !isBlank(line.replace(LIST_ITEM, '$4')) ||
    (line.includes('|') && next !== undefined && TABLE_SEP.test(next) && next.includes('-'));
}

function blocks(lines) {
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (isBlank(line)) { i++; continue; }
    let m;
    if ((m = FENCE.exec(line))) {
      const fence = m[1];
      const body = [];
      i++;
      while (i < lines.length) {
        const t = lines[i].trim();
        if (t.startsWith(fence[0].repeat(fence.length)) && /^[`~]+$/.test(t)) { i++; break; }
        body.push(lines[i]);
        i++;
      }
      out.push(codeBlock(body.join('\n'), m[2]));
      continue;
    }
    if ((m = HEADING.exec(line))) {
      out.push(h('h' + m[1].length, null, inline(m[2] || '')));
      i++;
      continue;
    }
    if (HR.test(line)) { out.push(h('hr')); i++; continue; }
    if (QUOTE.test(line)) {
      const inner = [];
      while (i < lines.length && !isBlank(lines[i])) {
        const q = QUOTE.exec(lines[i]);
        inner.push(q ? q[1] : lines[i]);
        i++;
      }
      out.push(h('blockquote', null, blocks(inner)));
      continue;
    }
    if (LIST_ITEM.test(line)) {
      const [node, next] = list(lines, i);
      out.push(node);
      i = next;
      continue;
    }
    if (line.includes('|') && i + 1 < lines.length && TABLE_SEP.test(lines[i + 1]) && lines[i + 1].includes('-')) {
      const [node, next] = table(lines, i);
      out.push(node);
      i = next;
      continue;
    }
    const para = [line];
    i++;
    while (i < lines.length && !isBlank(lines[i]) && !startsBlock(lines[i], lines[i + 1])) {
      para.push(lines[i]);
      i++;
    }
    out.push(h('p', null, inline(para.map((l) => l.trim()).join('\n'))));
  }
  return out;
}

function list(lines, start) {
  const first = LIST_ITEM.exec(lines[start]);
  const ordered = /\d/.test(first[2]);
  const el = h(ordered ? 'ol' : 'ul');
  if (ordered) {
    const n = parseInt(first[2], 10);
    if (n !== 1) el.setAttribute('start', String(n));
  }
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
  for (const body of items) {
    const li = h('li');
    const kids = blocks(body);
    for (const k of kids) {
      // Tight lists keep their text out of <p> so they read compactly.
      if (!loose && k.tagName === 'P') { while (k.firstChild) li.appendChild(k.firstChild); } else li.appendChild(k);
    }
    el.appendChild(li);
  }
  return [el, i];
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

function table(lines, start) {
  const head = splitRow(lines[start]);
  const aligns = splitRow(lines[start + 1]).map((c) => {
    const l = c.startsWith(':');
    const r = c.endsWith(':');
    return l && r ? 'center' : r ? 'right' : l ? 'left' : '';
  });
  const cell = (tag, text, k) => {
    const td = h(tag, null, inline(text));
    if (aligns[k]) td.className = 'align-' + aligns[k];
    return td;
  };
  const thead = h('thead', null, h('tr', null, head.map((c, k) => cell('th', c, k))));
  const tbody = h('tbody');
  let i = start + 2;
  while (i < lines.length && !isBlank(lines[i]) && lines[i].includes('|')) {
    const cells = splitRow(lines[i]);
    const tr = h('tr');
    for (let k = 0; k < head.length; k++) tr.appendChild(cell('td', cells[k] || '', k));
    tbody.appendChild(tr);
    i++;
  }
  return [h('div', { class: 'table-wrap' }, h('table', null, thead, tbody)), i];
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

// inline parses inline markdown into an array of nodes.
export function inline(text) {
  const out = [];
  let buf = '';
  const flush = () => { if (buf) { out.push(document.createTextNode(buf)); buf = ''; } };
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text[i];
    if (c === '\\' && i + 1 < n && PUNCT.test(text[i + 1])) { buf += text[i + 1]; i += 2; continue; }
    if (c === '\\' && text[i + 1] === '\n') { flush(); out.push(h('br')); i += 2; continue; }
    if (c === '\n') { flush(); out.push(h('br')); i++; continue; }
    if (c === '`') {
      let run = 1;
      while (text[i + run] === '`') run++;
      const fence = '`'.repeat(run);
      const end = text.indexOf(fence, i + run);
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
      const m = linkAt(text, i + 1);
      if (m) {
        flush();
        const a = link(m.href, m.label || m.href);
        out.push(a || document.createTextNode(m.label));
        i = m.end;
        continue;
      }
    }
    if (c === '[') {
      const m = linkAt(text, i);
      if (m) {
        flush();
        const a = link(m.href, inline(m.label));
        if (a) out.push(a);
        else for (const k of inline(m.label)) out.push(k);
        i = m.end;
        continue;
      }
    }
    if (c === '<') {
      const m = /^<((?:https?:\/\/|mailto:)[^\s<>]+)>/.exec(text.slice(i));
      if (m) {
        const a = link(m[1], m[1]);
        if (a) { flush(); out.push(a); i += m[0].length; continue; }
      }
    }
    if ((c === 'h' || c === 'm') && (i === 0 || !/[\w/]/.test(text[i - 1]))) {
      const m = BARE_URL.exec(text.slice(i, i + 2048));
      if (m) {
        const a = link(m[0], m[0]);
        if (a) { flush(); out.push(a); i += m[0].length; continue; }
      }
    }
    if (c === '*' || c === '_' || c === '~') {
      const r = emphasisAt(text, i);
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

// linkAt parses "[label](href "title")" starting at the "[" at i.
function linkAt(text, i) {
  let depth = 0;
  let j = i;
  for (; j < text.length; j++) {
    const c = text[j];
    if (c === '\\') { j++; continue; }
    if (c === '[') depth++;
    else if (c === ']') { depth--; if (depth === 0) break; }
  }
  if (j >= text.length || text[j + 1] !== '(') return null;
  const label = text.slice(i + 1, j);
  let k = j + 2;
  let paren = 0;
  for (; k < text.length; k++) {
    const c = text[k];
    if (c === '(') paren++;
    else if (c === ')') { if (paren === 0) break; paren--; } else if (c === '\n') return null;
  }
  if (k >= text.length) return null;
  let dest = text.slice(j + 2, k).trim();
  const t = /^(\S+)\s+["'(].*["')]$/.exec(dest);
  if (t) dest = t[1];
  if (dest.startsWith('<') && dest.endsWith('>')) dest = dest.slice(1, -1);
  return { label, href: dest, end: k + 1 };
}

// emphasisAt handles **strong**, *em*, __strong__, _em_ and ~~del~~ at i.
function emphasisAt(text, i) {
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
  let j = i + size;
  while (true) {
    j = text.indexOf(delim, j);
    if (j < 0) return null;
    if (!/\s/.test(text[j - 1]) && j > i + size && text[j + size] !== c &&
        !(c === '_' && /\w/.test(text[j + size] || ''))) break;
    j++;
  }
  const inner = inline(text.slice(i + size, j));
  let node;
  if (c === '~') node = h('del', null, inner);
  else if (size === 3) node = h('strong', null, h('em', null, inner));
  else if (size === 2) node = h('strong', null, inner);
  else node = h('em', null, inner);
  return { node, end: j + size };
}
