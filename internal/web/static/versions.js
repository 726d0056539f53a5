// The version switcher under a message whose turn has more than one
// version (a retried reply, an edited question): ‹ 2/3 › moves between
// them. It only draws; picking a version is the controller's
// (conversation.js), which asks the server and shows the branch it
// answers.

import { h } from './dom.js';

// versionSwitcher returns the switcher for message m, or null when its
// turn has one version. pick(n) shows version n; busy disables it while a
// reply streams (the server refuses then anyway).
export function versionSwitcher(m, busy, pick) {
  const n = m.versions || 0;
  const i = m.version || 0;
  if (n < 2 || i < 1) return null;
  const btn = (cls, label, text, to) => {
    const b = h('button', { type: 'button', class: 'ver-btn ' + cls, 'aria-label': label, title: label, text });
    b.disabled = busy || to < 1 || to > n;
    b.addEventListener('click', () => pick(to));
    return b;
  };
  return h('div', { class: 'versions', role: 'group', 'aria-label': 'Versions' },
    btn('ver-prev', 'Previous version', '‹', i - 1),
    h('span', { class: 'ver-label', 'aria-live': 'polite', text: i + '/' + n }),
    btn('ver-next', 'Next version', '›', i + 1));
}
