// Math in replies: TeX between $…$ or \(…\) (inline) and $$…$$ or \[…\]
// (display), found by markdown.js, which leaves it as text in a .math
// element; typeset renders those with KaTeX (Debian's libjs-katex,
// vendored under katex/ with its licence and fonts). KaTeX builds DOM
// nodes itself (katex.render), never HTML strings, and is loaded only
// when a reply has math: the first page load does not pay for it.

import { h } from './dom.js';

let loading = null;

// load adds KaTeX's stylesheet and script to the page once, and resolves
// with window.katex.
function load() {
  if (loading) return loading;
  const base = new URL('./katex/', import.meta.url).href;
  document.head.appendChild(h('link', { rel: 'stylesheet', href: base + 'katex.min.css' }));
  loading = new Promise((resolve, reject) => {
    const s = h('script', { src: base + 'katex.min.js' });
    s.addEventListener('load', () => (window.katex ? resolve(window.katex) : reject(new Error('KaTeX did not load'))));
    s.addEventListener('error', () => { loading = null; reject(new Error('KaTeX could not be loaded')); });
    document.head.appendChild(s);
  });
  return loading;
}

// typeset renders the math under root that is not rendered yet; on a
// failure the TeX stays as text.
export async function typeset(root) {
  const pending = [...root.querySelectorAll('.math:not([data-typeset])')];
  if (!pending.length) return;
  let katex;
  try {
    katex = await load();
  } catch {
    return;
  }
  for (const el of pending) {
    if (!el.isConnected || el.dataset.typeset) continue;
    el.dataset.typeset = 'true';
    try {
      katex.render(el.dataset.tex, el, { displayMode: el.classList.contains('math-display'), throwOnError: false, strict: 'ignore', trust: false, maxExpand: 500, maxSize: 50 });
    } catch {
      el.textContent = el.dataset.tex;
    }
  }
}

// mathAt finds math starting at text[i] ('$' or '\'): {tex, display, end},
// or null. Dollar signs follow pandoc's rule so that prices stay text:
// the opening $ is not followed by a space, the closing one not preceded
// by one nor followed by a digit.
export function mathAt(text, i) {
  const c = text[i];
  const close = (open, end, display) => {
    const j = text.indexOf(end, i + open.length);
    if (j < 0) return null;
    const tex = text.slice(i + open.length, j);
    if (!tex.trim()) return null;
    return { tex: tex.trim(), display, end: j + end.length };
  };
  if (c === '\\') {
    if (text[i + 1] === '(') return close('\\(', '\\)', false);
    if (text[i + 1] === '[') return close('\\[', '\\]', true);
    return null;
  }
  if (c !== '$') return null;
  if (text[i + 1] === '$') return close('$$', '$$', true);
  if (!text[i + 1] || /\s/.test(text[i + 1])) return null;
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === '\n' && text[j + 1] === '\n') return null;
    if (text[j] === '\\') { j++; continue; }
    if (text[j] === '$') {
      if (/\s/.test(text[j - 1]) || /[0-9]/.test(text[j + 1] || '')) return null;
      return { tex: text.slice(i + 1, j), display: false, end: j + 1 };
    }
  }
  return null;
}

// mathNode is the element markdown.js puts in the text for math m: its
// TeX as text until typeset renders it.
export function mathNode(m) {
  return h('span', { class: m.display ? 'math math-display' : 'math', 'data-tex': m.tex, text: m.tex });
}
