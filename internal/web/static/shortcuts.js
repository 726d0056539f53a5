// Keyboard shortcuts of the page, as ChatGPT users know them:
// Ctrl+Shift+O (⌘⇧O) a new chat, Ctrl+K (⌘K) search chats.

export function bindShortcuts({ newChat, search }) {
  const mac = /Mac|iPhone|iPad/.test(navigator.platform || '');
  const hint = (id, keys, shown) => {
    const b = document.getElementById(id);
    if (!b) return;
    b.setAttribute('aria-keyshortcuts', keys);
    b.title = (b.title || b.getAttribute('aria-label') || b.textContent.trim()) + ' (' + shown + ')';
  };
  hint('new-chat', 'Control+Shift+O Meta+Shift+O', mac ? '⌘⇧O' : 'Ctrl+Shift+O');
  hint('new-chat-top', 'Control+Shift+O Meta+Shift+O', mac ? '⌘⇧O' : 'Ctrl+Shift+O');
  hint('search', 'Control+K Meta+K', mac ? '⌘K' : 'Ctrl+K');
  document.addEventListener('keydown', (e) => {
    if (!(e.ctrlKey || e.metaKey) || e.altKey || e.defaultPrevented) return;
    if (document.querySelector('dialog[open]')) return;
    const key = e.key.toLowerCase();
    if (key === 'o' && e.shiftKey) { e.preventDefault(); newChat(); }
    else if (key === 'k' && !e.shiftKey) { e.preventDefault(); search(); }
  });
}
