// The widget's message list: one <li> per message, kept from one render to the next and moved
// only when out of place. Our own messages are keyed by `clientId`, so a pending bubble becomes
// the stored message in place. Text goes in as text nodes and links, never as HTML.
import { splitLinks } from '../shared/links';
import type { Pending } from '../shared/thread';
import type { Attachment, Message } from '../shared/types';
import type { Lang, Strings } from './i18n';

type Row = { k: string; sender: string; text: string; files: Attachment[]; name: string; at: string; seq: number; p?: Pending };
type Item = { li: HTMLLIElement; who: HTMLElement; meta: HTMLElement };

/** `t` and `lang`: the widget's language (its texts, and the times' format); `files` makes
 * the view of a message's attachments. */
export function messageList(
  list: HTMLElement,
  retry: (clientId: string) => void,
  t: Strings,
  lang: Lang,
  files: (list: Attachment[]) => HTMLElement,
) {
  const els = new Map<string, Item>();
  const clock = new Intl.DateTimeFormat(lang, { hour: 'numeric', minute: '2-digit' });
  const fmtTime = (iso: string) => {
    const d = new Date(iso);
    return isNaN(+d) ? '' : clock.format(d);
  };

  function element(k: string, sender: string, text: string, attached: Attachment[]): Item {
    let e = els.get(k);
    if (e) return e;
    const li = document.createElement('li');
    const who = document.createElement('div');
    who.className = 'who';
    const bubble = document.createElement('div');
    bubble.className = 'bubble';
    for (const [t, href] of splitLinks(text)) {
      if (href) {
        const a = document.createElement('a');
        a.href = href;
        a.textContent = t;
        a.target = '_blank';
        a.rel = 'noopener noreferrer nofollow';
        bubble.appendChild(a);
      } else bubble.appendChild(document.createTextNode(t));
    }
    const meta = document.createElement('div');
    meta.className = 'meta';
    li.append(who);
    // A message of files only has no bubble of text.
    if (text) li.append(bubble);
    if (attached.length) li.append(files(attached));
    li.append(meta);
    li.dataset.sender = sender;
    e = { li, who, meta };
    els.set(k, e);
    return e;
  }

  /** Shows `messages` (ascending) then `pending`; `agentRead`: the agents' read marker. */
  function render(messages: Message[], pending: Pending[], agentRead: number) {
    const rows: Row[] = messages.map((m) => ({
      k: m.sender === 'visitor' && m.clientId ? 'c' + m.clientId : 's' + m.seq,
      sender: m.sender,
      text: m.text,
      files: m.attachments || [],
      name: m.agentName || '',
      at: m.createdAt,
      seq: m.seq,
    }));
    pending.forEach((p) => rows.push({ k: 'c' + p.clientId, sender: 'visitor', text: p.text, files: p.attachments || [], name: '', at: p.createdAt, seq: 0, p }));
    let lastOwn = -1;
    rows.forEach((r, i) => r.sender === 'visitor' && !r.p && (lastOwn = i));
    const keep = new Set<string>();
    let prev: Element | null = null;
    rows.forEach((r, i) => {
      keep.add(r.k);
      const { li, who, meta } = element(r.k, r.sender, r.text, r.files);
      const next = rows[i + 1];
      const before = rows[i - 1];
      const startRun = !before || before.sender !== r.sender || before.name !== r.name;
      const endRun = !next || next.sender !== r.sender || next.name !== r.name;
      li.className = `m ${r.sender === 'visitor' ? 'me' : r.sender === 'agent' ? 'them' : 'sys'}${startRun ? ' first' : ''}${endRun ? ' last' : ''}${r.p ? (r.p.failed ? ' failed' : ' pending') : ''}`;
      who.textContent = r.sender === 'agent' && startRun ? r.name || t.agent : '';
      meta.textContent = '';
      if (r.p) {
        if (r.p.failed) {
          meta.append(`${t.notSent} · `);
          const b = document.createElement('button');
          b.type = 'button';
          b.className = 'retry';
          b.textContent = t.retry;
          const clientId = r.p.clientId;
          b.onclick = () => retry(clientId);
          meta.appendChild(b);
        } else meta.textContent = t.sending;
      } else if (r.sender === 'visitor' && i === lastOwn) {
        meta.textContent = `${fmtTime(r.at)} · ${agentRead >= r.seq ? t.read : t.sent}`;
      } else if (endRun && r.sender !== 'system') meta.textContent = fmtTime(r.at);
      if ((prev ? prev.nextElementSibling : list.firstElementChild) !== li) {
        if (prev) prev.after(li);
        else list.prepend(li);
      }
      prev = li;
    });
    els.forEach((e, k) => {
      if (!keep.has(k)) {
        e.li.remove();
        els.delete(k);
      }
    });
  }

  return {
    render,
    /** Forgets every row (another identity's conversation). */
    clear() {
      els.clear();
      list.textContent = '';
    },
  };
}
