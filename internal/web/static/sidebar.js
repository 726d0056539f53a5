// The conversation sidebar: pinned chats first, then the rest newest
// first, grouped by date, with infinite scroll (next_cursor); search (q,
// which also finds archived chats); rename in place, pin, archive and
// restore, and delete with confirmation.

import { api } from './api.js';
import { h, icon, clear } from './dom.js';
import { groupByDate } from './groups.js';

const PAGE = 30;

export class Sidebar {
  // hooks: open(id), deleted(id), renamed(conv), error(err), confirm(text) → Promise<bool>
  constructor(hooks) {
    this.hooks = hooks;
    this.listEl = document.getElementById('conv-list');
    this.status = document.getElementById('list-status');
    this.search = document.getElementById('search');
    this.items = [];
    this.pinned = []; // shown apart, first; loaded whole (without a search)
    this.cursor = '';
    this.q = '';
    this.done = false;
    this.loading = false;
    this.gen = 0;
    this.activeId = null;

    let timer = 0;
    this.search.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => { this.q = this.search.value.trim(); this.reload(); }, 250);
    });
    // Infinite scroll: load the next page when the list nears its end.
    const nav = this.listEl.parentElement;
    nav.addEventListener('scroll', () => {
      if (nav.scrollTop + nav.clientHeight >= nav.scrollHeight - 300) this.more();
    }, { passive: true });
  }

  async reload() {
    this.items = [];
    this.pinned = [];
    this.cursor = '';
    this.done = false;
    this.gen++;
    this.loading = false;
    if (!this.q) {
      const gen = this.gen;
      try {
        const page = await api.list({ limit: 200, pinned: 'true' });
        if (gen !== this.gen) return;
        this.pinned = page.data || [];
      } catch { /* the main list below reports the failure */ }
    }
    await this.more(true);
  }

  async more(force) {
    if ((this.loading || this.done) && !force) return;
    const gen = this.gen;
    this.loading = true;
    if (!this.items.length) this.status.textContent = 'Loading…';
    try {
      const page = await api.list({ limit: PAGE, cursor: this.cursor, q: this.q, pinned: this.q ? '' : 'false' });
      if (gen !== this.gen) return;
      const seen = new Set(this.items.map((c) => c.id));
      for (const c of page.data || []) if (!seen.has(c.id)) this.items.push(c);
      this.cursor = page.next_cursor || '';
      this.done = !this.cursor;
      this.render();
      this.loading = false;
      // A tall window shows the whole first page: keep loading until it scrolls.
      if (!this.done) requestAnimationFrame(() => this.fillIfVisible());
    } catch (err) {
      if (gen !== this.gen) return;
      this.loading = false;
      const again = h('button', { type: 'button', class: 'link-btn', text: 'Try again' });
      again.addEventListener('click', () => this.reload());
      clear(this.status);
      this.status.append('Could not load chats. ', again);
      this.hooks.error(err);
    }
  }

  fillIfVisible() {
    const nav = this.listEl.parentElement;
    if (nav.scrollHeight <= nav.clientHeight + 200) this.more();
  }

  // upsert puts c at the top (it just had activity); a filtered list
  // (search) keeps its order and only refreshes the entry.
  upsert(c) {
    const p = this.pinned.findIndex((x) => x.id === c.id);
    if (p >= 0) { this.pinned[p] = { ...this.pinned[p], ...c }; this.render(); return; }
    const i = this.items.findIndex((x) => x.id === c.id);
    if (this.q) {
      if (i >= 0) { this.items[i] = { ...this.items[i], ...c }; this.render(); }
      return;
    }
    if (i >= 0) this.items.splice(i, 1);
    this.items.unshift(c);
    this.render();
  }

  touch(id) {
    const c = this.items.find((x) => x.id === id) || this.pinned.find((x) => x.id === id);
    if (c) this.upsert({ ...c, updated_at: new Date().toISOString() });
  }

  setActive(id) {
    this.activeId = id;
    for (const li of this.listEl.children) {
      const a = li.querySelector('.conv-link');
      if (!a) continue;
      if (li.dataset.id === id) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
  }

  render() {
    clear(this.listEl);
    const heading = (text) => h('li', { class: 'conv-group', role: 'presentation' }, h('h2', { class: 'conv-group-title', text }));
    if (this.q) {
      for (const c of this.items) this.listEl.appendChild(this.item(c));
    } else {
      if (this.pinned.length) {
        this.listEl.appendChild(heading('Pinned'));
        for (const c of this.pinned) this.listEl.appendChild(this.item(c));
      }
      for (const g of groupByDate(this.items)) {
        this.listEl.appendChild(heading(g.label));
        for (const c of g.items) this.listEl.appendChild(this.item(c));
      }
    }
    if (!this.items.length && !(this.pinned.length && !this.q)) this.status.textContent = this.q ? 'No chats found.' : 'No chats yet.';
    else this.status.textContent = this.done ? '' : 'Loading…';
  }

  // file pins or archives c (patch: {pinned} or {archived}) and moves it
  // where it now belongs.
  async file(c, patch) {
    try {
      const updated = await api.patch(c.id, patch);
      if (this.q) {
        // A search shows it where it was found, marked as it now is.
        this.items = this.items.map((x) => (x.id === c.id ? updated : x));
      } else {
        this.pinned = this.pinned.filter((x) => x.id !== c.id);
        this.items = this.items.filter((x) => x.id !== c.id);
        if (updated.pinned && !updated.archived) this.pinned.unshift(updated);
        else if (!updated.archived) {
          this.items.push(updated);
          this.items.sort((a, b) => (a.updated_at < b.updated_at ? 1 : a.updated_at > b.updated_at ? -1 : 0));
        }
      }
      this.render();
    } catch (err) {
      this.hooks.error(err);
    }
  }

  item(c) {
    const title = c.title || 'New chat';
    const a = h('a', { class: 'conv-link', href: '/c/' + encodeURIComponent(c.id), title }, h('span', { class: 'conv-name', text: title }),
      c.archived ? h('span', { class: 'badge conv-badge', text: 'Archived' }) : null);
    if (c.id === this.activeId) a.setAttribute('aria-current', 'page');
    a.addEventListener('click', (e) => {
      if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
      e.preventDefault();
      this.hooks.open(c.id);
    });
    const rename = h('button', { type: 'button', class: 'icon-btn small rename', 'aria-label': 'Rename “' + title + '”', title: 'Rename' }, icon('pencil'));
    const del = h('button', { type: 'button', class: 'icon-btn small delete', 'aria-label': 'Delete “' + title + '”', title: 'Delete' }, icon('trash'));
    const pin = h('button', { type: 'button', class: 'icon-btn small pin', 'aria-pressed': c.pinned ? 'true' : 'false',
      'aria-label': (c.pinned ? 'Unpin “' : 'Pin “') + title + '”', title: c.pinned ? 'Unpin' : 'Pin' }, icon('pin'));
    const archive = h('button', { type: 'button', class: 'icon-btn small archive',
      'aria-label': (c.archived ? 'Restore “' : 'Archive “') + title + '”', title: c.archived ? 'Restore' : 'Archive' }, icon(c.archived ? 'unarchive' : 'archive'));
    pin.addEventListener('click', () => this.file(c, { pinned: !c.pinned }));
    archive.addEventListener('click', () => this.file(c, { archived: !c.archived }));
    const li = h('li', { class: 'conv-item', 'data-id': c.id }, a, h('div', { class: 'conv-acts' }, rename, pin, archive, del));
    if (c.pinned) li.classList.add('pinned');
    rename.addEventListener('click', () => this.startRename(li, c));
    del.addEventListener('click', async () => {
      if (!(await this.hooks.confirm('Delete chat?', '“' + title + '” and all its messages will be deleted.', 'Delete'))) return;
      try {
        await api.remove(c.id);
        this.items = this.items.filter((x) => x.id !== c.id);
        this.pinned = this.pinned.filter((x) => x.id !== c.id);
        this.render();
        this.hooks.deleted(c.id);
      } catch (err) {
        this.hooks.error(err);
      }
    });
    return li;
  }

  startRename(li, c) {
    const input = h('input', { class: 'rename-input', type: 'text', 'aria-label': 'Chat title', maxlength: '200' });
    input.value = c.title || '';
    clear(li);
    li.appendChild(input);
    input.focus();
    input.select();
    let finished = false;
    const finish = async (save) => {
      if (finished) return;
      finished = true;
      const title = input.value.trim();
      if (save && title && title !== c.title) {
        try {
          const updated = await api.patch(c.id, { title });
          Object.assign(c, { title: updated.title });
          this.hooks.renamed(updated);
        } catch (err) {
          this.hooks.error(err);
        }
      }
      this.render();
    };
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') { e.preventDefault(); finish(true); }
      if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); finish(false); }
    });
    input.addEventListener('blur', () => finish(true));
  }
}
