// DOM helpers. Every node is built with createElement and text goes in as
// text nodes: nothing here parses HTML, so no string can become markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

// h builds an element. attrs: class, text, on* handlers (functions), other
// attributes as strings; children: nodes, strings (as text) or null.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (typeof c === 'string') el.appendChild(document.createTextNode(c));
    else el.appendChild(c);
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
}

// Icon paths (24x24, stroked), drawn by the stylesheet's .icon rules.
const ICONS = {
  plus: ['M12 5v14', 'M5 12h14'],
  close: ['M6 6l12 12', 'M18 6L6 18'],
  menu: ['M4 7h16', 'M4 12h16', 'M4 17h16'],
  edit: ['M4 20h4L19 9l-4-4L4 16v4z', 'M14 6l4 4'],
  pencil: ['M4 20h4L19 9l-4-4L4 16v4z'],
  sliders: ['M4 6h10', 'M18 6h2', 'M4 12h4', 'M12 12h8', 'M4 18h12', 'M20 18h0', 'M16 4v4', 'M10 10v4', 'M18 16v4'],
  send: ['M12 19V5', 'M6 11l6-6 6 6'],
  down: ['M12 5v14', 'M6 13l6 6 6-6'],
  stop: ['M8 8h8v8H8z'],
  retry: ['M20 11a8 8 0 1 0-2.3 5.7', 'M20 5v6h-6'],
  more: ['M5 12h10', 'M11 6l6 6-6 6', 'M20 5v14'],
  undo: ['M9 14L4 9l5-5', 'M4 9h10a6 6 0 0 1 0 12h-3'],
  trash: ['M4 7h16', 'M10 11v6', 'M14 11v6', 'M6 7l1 13h10l1-13', 'M9 7V4h6v3'],
  copy: ['M9 9h11v11H9z', 'M5 15H4V4h11v1'],
  check: ['M5 12l5 5L20 7'],
  sun: ['M12 3v2', 'M12 19v2', 'M3 12h2', 'M19 12h2', 'M5.6 5.6l1.4 1.4', 'M17 17l1.4 1.4', 'M5.6 18.4L7 17', 'M17 7l1.4-1.4', 'M12 8a4 4 0 1 0 0 8a4 4 0 1 0 0-8z'],
  moon: ['M20 14.5A8 8 0 0 1 9.5 4a8 8 0 1 0 10.5 10.5z'],
  monitor: ['M3 4h18v12H3z', 'M8 20h8', 'M12 16v4'],
  alert: ['M12 8v5', 'M12 16.5v.5', 'M10.3 3.9L2 18a2 2 0 0 0 1.7 3h16.6A2 2 0 0 0 22 18L13.7 3.9a2 2 0 0 0-3.4 0z'],
  dots: ['M5 12h.01', 'M12 12h.01', 'M19 12h.01'],
  download: ['M12 4v11', 'M7 10l5 5 5-5', 'M5 20h14'],
  upload: ['M12 15V4', 'M7 9l5-5 5 5', 'M5 20h14'],
  pin: ['M9 4h6', 'M10 4v5l-3 4h10l-3-4V4', 'M12 13v7'],
  archive: ['M4 5h16v4H4z', 'M6 9v10h12V9', 'M10 13h4'],
  unarchive: ['M4 5h16v4H4z', 'M6 9v10h12V9', 'M12 17v-5', 'M10 14l2-2 2 2'],
  user: ['M12 4a4 4 0 1 0 0 8a4 4 0 1 0 0-8z', 'M4 21a8 8 0 0 1 16 0'],
  users: ['M9 4a3.5 3.5 0 1 0 0 7a3.5 3.5 0 1 0 0-7z', 'M2 20a7 7 0 0 1 14 0', 'M16 4.5a3.5 3.5 0 0 1 0 6.5', 'M18 14a7 7 0 0 1 4 6'],
  key: ['M7 8a4 4 0 1 0 0 8a4 4 0 1 0 0-8z', 'M11 12h10', 'M18 12v3', 'M21 12v2'],
  signout: ['M15 4h4v16h-4', 'M10 8l-4 4 4 4', 'M6 12h11'],
};

export function icon(name) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', 'icon');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  for (const d of ICONS[name] || []) {
    const p = document.createElementNS(SVG_NS, 'path');
    p.setAttribute('d', d);
    svg.appendChild(p);
  }
  return svg;
}

// withIcons puts the icon named by data-icon in front of each such
// element's content (the static page names them; this draws them).
export function withIcons(root) {
  for (const el of root.querySelectorAll('[data-icon]')) {
    el.insertBefore(icon(el.dataset.icon), el.firstChild);
  }
}

// copyText puts text on the clipboard, falling back to a hidden textarea
// where the async clipboard API is unavailable (plain http on a LAN).
export async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch { /* fall through to the legacy path */ }
  const ta = h('textarea', { class: 'clip', readonly: true, 'aria-hidden': 'true' });
  ta.value = text;
  document.body.appendChild(ta);
  ta.select();
  let ok = false;
  try { ok = document.execCommand('copy'); } catch { ok = false; }
  ta.remove();
  return ok;
}

// flash briefly swaps a button's label to acknowledge a click.
export function flash(btn, label) {
  const old = btn.getAttribute('aria-label');
  btn.classList.add('done');
  btn.setAttribute('aria-label', label);
  setTimeout(() => {
    btn.classList.remove('done');
    if (old) btn.setAttribute('aria-label', old);
  }, 1500);
}
