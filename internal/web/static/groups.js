// Dates of the chat list: conversations grouped by their last activity as
// the reader's calendar sees it — Today, Yesterday, Previous 7 days,
// Previous 30 days, then by month.

function dayStart(d) { return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime(); }

const DAY = 24 * 60 * 60 * 1000;

// groupLabel names the group of a conversation last active at time t
// (a Date), seen at now.
export function groupLabel(t, now) {
  const days = Math.round((dayStart(now) - dayStart(t)) / DAY);
  if (days <= 0) return 'Today';
  if (days === 1) return 'Yesterday';
  if (days <= 7) return 'Previous 7 days';
  if (days <= 30) return 'Previous 30 days';
  const month = t.toLocaleDateString(undefined, { month: 'long' });
  return t.getFullYear() === now.getFullYear() ? month : month + ' ' + t.getFullYear();
}

// groupByDate splits conversations, newest first, into [{label, items}]
// in the same order.
export function groupByDate(items, now = new Date()) {
  const out = [];
  for (const c of items) {
    const label = groupLabel(new Date(c.updated_at), now);
    if (!out.length || out[out.length - 1].label !== label) out.push({ label, items: [] });
    out[out.length - 1].items.push(c);
  }
  return out;
}
