// Parlor's embeddable chat widget.
//
//   <script src="https://HOST/widget.js" data-site="SITE_KEY" async></script>
//
// Renders inside a Shadow DOM, talks Socket.IO to the origin the script was
// loaded from, and adds one global: window.Parlor { open, close, toggle, identify }.
// User text is only ever rendered with text nodes.
import { io } from 'socket.io-client';
import css from './style.css?inline';
import { splitLinks } from '../shared/links';
import { uid, type Message, type Visitor } from '../shared/types';

interface Pending {
  clientId: string;
  text: string;
  createdAt: string;
  failed?: string;
}
type Profile = { name?: string; email?: string; phone?: string };
type Field = 'name' | 'email' | 'phone';

const ICON_CHAT =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 3C6.5 3 2 6.9 2 11.7c0 2.5 1.2 4.7 3.2 6.3L4.5 21.6c-.1.5.4.9.9.7l4-1.8c.8.2 1.7.3 2.6.3 5.5 0 10-3.9 10-8.7S17.5 3 12 3z"/></svg>';
const ICON_CLOSE =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6z"/></svg>';
const ICON_SEND =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M3.4 20.4 21 12 3.4 3.6 3.4 10l12.6 2-12.6 2z"/></svg>';
const ICON_DOWN = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 16.6 5.4 10 6.8 8.6l5.2 5.2 5.2-5.2 1.4 1.4z"/></svg>';

const TEMPLATE = `
<button class="launcher" type="button" aria-label="Open chat" aria-expanded="false" aria-controls="p-panel">
  <span class="ic ic-open">${ICON_CHAT}</span><span class="ic ic-close">${ICON_CLOSE}</span>
  <span class="badge" hidden></span>
</button>
<section class="panel" id="p-panel" role="dialog" aria-labelledby="p-title" hidden>
  <header class="head">
    <div class="avatar" aria-hidden="true">${ICON_CHAT}</div>
    <div class="titles"><h2 id="p-title"></h2><p class="status"><span class="dot"></span><span class="status-text"></span></p></div>
    <button class="close" type="button" aria-label="Minimize chat">${ICON_CLOSE}</button>
  </header>
  <div class="conn" role="status" hidden></div>
  <div class="log" role="log" aria-label="Conversation" tabindex="0">
    <div class="more" hidden>Loading earlier messages…</div>
    <div class="intro"><p class="hello"></p></div>
    <ol class="msgs"></ol>
    <div class="note away" hidden></div>
    <div class="note ended" hidden>This chat has ended. Write below if you need anything else — we'll pick it up again.</div>
  </div>
  <button class="jump" type="button" hidden>${ICON_DOWN}<span>New messages</span></button>
  <form class="prechat" novalidate hidden>
    <p class="lead">Before we start, tell us how we can reach you in case you leave.</p>
    <div class="fields"></div>
    <p class="err" role="alert"></p>
    <button class="primary" type="submit">Start chat</button>
  </form>
  <div class="typing" aria-live="polite" hidden><span class="dots" aria-hidden="true"><i></i><i></i><i></i></span><span class="typing-text"></span></div>
  <form class="composer">
    <textarea rows="1" maxlength="4000" aria-label="Type your message" placeholder="Write a message…"></textarea>
    <button class="send" type="submit" aria-label="Send message">${ICON_SEND}</button>
  </form>
  <p class="brand">Powered by <b>Parlor</b></p>
</section>`;

const FIELD_LABEL: Record<Field, [string, string, string]> = {
  name: ['Your name', 'text', 'name'],
  email: ['E-mail', 'email', 'email'],
  phone: ['Phone', 'tel', 'tel'],
};

(function main() {
  const w = window as any;
  if (w.Parlor && w.Parlor.version) return; // included twice
  const script =
    (document.currentScript as HTMLScriptElement | null) ||
    document.querySelector<HTMLScriptElement>('script[data-site][src*="widget.js"]');
  const siteKey = script && script.getAttribute('data-site');
  if (!script || !siteKey) {
    console.warn('[parlor] widget.js needs a data-site attribute');
    return;
  }
  const origin = new URL(script.src, location.href).origin;
  const color = script.getAttribute('data-color');

  // ---- storage (localStorage may throw in sandboxed or private contexts) ----
  const key = (k: string) => `parlor:${siteKey}:${k}`;
  const get = (k: string): string | null => {
    try {
      return localStorage.getItem(key(k));
    } catch {
      return null;
    }
  };
  const set = (k: string, v: string | null) => {
    try {
      v == null ? localStorage.removeItem(key(k)) : localStorage.setItem(key(k), v);
    } catch {
      /* ignore */
    }
  };

  // ---- state ----
  let token = get('token');
  const msgs = new Map<number, Message>();
  let pending: Pending[] = [];
  try {
    pending = JSON.parse(get('queue') || '[]');
  } catch {
    /* ignore */
  }
  let visitor: Visitor | null = null;
  let site = { name: '', prechatFields: ['name', 'email'] as Field[], allowedQueryParams: [] as string[] };
  let status: 'open' | 'ended' = 'open';
  let agentsOnline = false;
  let hasMore = false;
  let loadingMore = false;
  let readSeq = Number(get('read')) || 0; // agent messages the visitor has seen
  let agentReadSeq = Number(get('seen')) || 0; // visitor messages an agent has seen
  let isOpen = get('open') === '1';
  let ready = false; // got a session on the current connection
  let everConnected = false;
  let fatal = '';
  let wantProfile: Profile | null = null;
  let typingName = '';
  let typingTimer: any;

  // ---- DOM ----
  const host = document.createElement('parlor-chat');
  // CSSOM, not a style attribute or element, so strict host-page CSPs allow it.
  host.style.cssText = 'all:initial;position:fixed;z-index:2147483000;bottom:0;right:0;width:0;height:0';
  const root = host.attachShadow({ mode: 'open' });
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } catch {
    const style = document.createElement('style');
    style.textContent = css;
    root.appendChild(style);
  }
  const wrap = document.createElement('div');
  wrap.className = 'root';
  if (color && /^#[0-9a-f]{3,8}$/i.test(color)) wrap.style.setProperty('--p', color);
  wrap.innerHTML = TEMPLATE; // static markup only
  root.appendChild(wrap);
  const $ = <T extends Element = HTMLElement>(s: string) => wrap.querySelector(s) as unknown as T;
  const launcher = $<HTMLButtonElement>('.launcher');
  const badge = $('.badge');
  const panel = $('.panel');
  const title = $('#p-title');
  const statusText = $('.status-text');
  const conn = $('.conn');
  const log = $('.log');
  const more = $('.more');
  const hello = $('.hello');
  const list = $('.msgs');
  const away = $('.away');
  const ended = $('.ended');
  const jump = $<HTMLButtonElement>('.jump');
  const prechat = $<HTMLFormElement>('.prechat');
  const fields = $('.fields');
  const preErr = $('.err');
  const typing = $('.typing');
  const typingText = $('.typing-text');
  const composer = $<HTMLFormElement>('.composer');
  const input = $<HTMLTextAreaElement>('textarea');

  // ---- socket ----
  const socket = io(origin + '/visitor', {
    autoConnect: false,
    transports: ['websocket', 'polling'],
    tryAllTransports: true,
    auth: (cb: (a: object) => void) => cb(token ? { siteKey, token } : { siteKey }),
  } as any);
  let started = false;
  const start = () => {
    if (started || fatal) return;
    started = true;
    if (navigator.onLine !== false) socket.connect();
    render();
  };

  socket.on('connect', () => {
    everConnected = true;
    render();
  });
  socket.on('disconnect', (reason) => {
    ready = false;
    sending = 0;
    sendGen++;
    setTyping(false);
    if (reason === 'io server disconnect') setTimeout(() => started && socket.connect(), 2000);
    render();
  });
  socket.on('connect_error', (err) => {
    if (err && err.message === 'unknown_site') {
      fatal = 'Chat is not available on this site.';
      console.warn('[parlor] unknown site key', siteKey);
      socket.disconnect();
    } else if (!socket.active) {
      setTimeout(() => started && !socket.connected && socket.connect(), 3000);
    }
    render();
  });

  socket.on('session', (s: any) => {
    const before = maxSeq();
    if (visitor && s.visitor && visitor.id !== s.visitor.id) {
      // a different identity (e.g. the old token expired): start afresh
      msgs.clear();
      els.clear();
      list.textContent = '';
      readSeq = agentReadSeq = 0;
      set('read', null);
      set('seen', null);
    }
    const first = msgs.size === 0;
    token = s.token;
    set('token', token);
    visitor = s.visitor;
    if (s.site)
      site = {
        name: s.site.name || '',
        prechatFields: s.site.prechatFields || site.prechatFields,
        allowedQueryParams: s.site.allowedQueryParams || [],
      };
    status = s.conversation.status;
    agentsOnline = !!s.agentsOnline;
    add(s.messages || []);
    if (first) hasMore = !!s.hasMore;
    ready = true;
    if (!first) sync(before);
    if (wantProfile) sendProfile(wantProfile);
    reportPage();
    render(first);
    flush();
  });

  socket.on('message', (m: Message) => {
    const top = maxSeq();
    add([m]);
    // A skipped seq means a live event was lost (e.g. across cluster nodes): catch up.
    if (ready && top > 0 && m.seq > top + 1) sync(top);
    if (m.sender !== 'visitor') setTyping(false);
    render();
  });
  socket.on('typing', (t: { typing: boolean; agentName?: string }) => {
    typingName = t.agentName || '';
    setTyping(!!t.typing);
  });
  socket.on('presence', (p: { agentsOnline: boolean }) => {
    agentsOnline = !!p.agentsOnline;
    render();
  });
  socket.on('read', (r: { seq: number }) => {
    if (r.seq > agentReadSeq) {
      agentReadSeq = r.seq;
      set('seen', String(r.seq));
      render();
    }
  });
  socket.on('conversation', (c: { status: 'open' | 'ended' }) => {
    status = c.status;
    render();
  });

  function sync(after: number) {
    socket.emit('sync', { afterSeq: after }, (r: any) => {
      if (!r || !r.ok) return;
      add(r.messages);
      render();
      if (r.hasMore && r.messages.length) sync(r.messages[r.messages.length - 1].seq);
    });
  }

  function loadOlder() {
    if (!hasMore || loadingMore || !ready) return;
    const oldest = Math.min(...msgs.keys());
    if (!isFinite(oldest)) return;
    loadingMore = true;
    more.hidden = false;
    socket.emit('history', { beforeSeq: oldest, limit: 50 }, (r: any) => {
      loadingMore = false;
      more.hidden = true;
      if (!r || !r.ok) return;
      hasMore = !!r.hasMore;
      const fromBottom = log.scrollHeight - log.scrollTop;
      add(r.messages);
      render();
      log.scrollTop = log.scrollHeight - fromBottom;
    });
  }

  function add(list: Message[]) {
    for (const m of list) {
      if (!m || typeof m.seq !== 'number') continue;
      if (m.sender === 'visitor' && m.clientId) {
        const i = pending.findIndex((p) => p.clientId === m.clientId);
        if (i >= 0) {
          pending.splice(i, 1);
          saveQueue();
        }
      }
      msgs.set(m.seq, m);
    }
  }
  const maxSeq = () => {
    let s = 0;
    msgs.forEach((_, k) => (s = Math.max(s, k)));
    return s;
  };
  const saveQueue = () => set('queue', pending.length ? JSON.stringify(pending) : null);

  // ---- sending: one at a time, in order, same clientId until acked ----
  let sending = 0;
  let sendGen = 0;
  function flush() {
    if (sending || !ready || !socket.connected) return;
    const p = pending.find((x) => !x.failed);
    if (!p) return;
    const gen = ++sendGen;
    sending = gen;
    socket.timeout(10000).emit('send', { clientId: p.clientId, text: p.text }, (err: any, r: any) => {
      if (gen !== sendGen) return;
      sending = 0;
      if (err) {
        setTimeout(flush, 500);
        return;
      }
      if (r && r.ok) {
        add([r.message]);
        const i = pending.indexOf(p);
        if (i >= 0) pending.splice(i, 1);
        saveQueue();
      } else {
        const code = r && r.error && r.error.code;
        if (code === 'rate_limited' || code === 'internal') {
          setTimeout(flush, 3000);
          return;
        }
        p.failed = (r && r.error && r.error.message) || 'Not sent';
        saveQueue();
      }
      render();
      flush();
    });
  }

  function send(text: string) {
    text = text.trim();
    if (!text) return;
    pending.push({ clientId: uid(), text, createdAt: new Date().toISOString() });
    saveQueue();
    stopTyping();
    start();
    render(true);
    flush();
  }

  function sendProfile(p: Profile, done?: (err?: string) => void) {
    wantProfile = p;
    if (!ready) return;
    socket.timeout(10000).emit('profile', p, (err: any, r: any) => {
      if (err) return done && done('Could not reach the server. Please try again.');
      wantProfile = null;
      if (r && r.ok) {
        visitor = r.visitor;
        set('prechat', '1');
        done && done();
      } else done && done((r && r.error && r.error.message) || 'Please check your details.');
      render();
    });
  }

  // The page as agents see it: origin and path, and only the query parameters the site allows
  // (the rest, and the fragment, often carry secrets such as `?token=`). The server strips
  // them again.
  function pageUrl(): string {
    const kept = new URLSearchParams();
    new URLSearchParams(location.search).forEach((value, name) => {
      const allowed = site.allowedQueryParams.some((a) =>
        a.endsWith('*') ? name.startsWith(a.slice(0, -1)) : a === name,
      );
      if (allowed) kept.append(name, value);
    });
    const query = kept.toString();
    return location.origin + location.pathname + (query ? '?' + query : '');
  }

  let lastPage = '';
  function reportPage() {
    const url = pageUrl();
    if (!ready || lastPage === url) return;
    lastPage = url;
    socket.emit('page', { url: url.slice(0, 2048), title: (document.title || '').slice(0, 200) });
  }
  setInterval(reportPage, 2000);
  addEventListener('popstate', reportPage);
  addEventListener('hashchange', reportPage);

  // ---- typing ----
  let typingSentAt = 0;
  let stopTimer: any;
  function stopTyping() {
    clearTimeout(stopTimer);
    if (typingSentAt) {
      typingSentAt = 0;
      if (ready) socket.emit('typing', { typing: false });
    }
  }
  function setTyping(on: boolean) {
    clearTimeout(typingTimer);
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    typing.hidden = !on;
    if (atBottom) log.scrollTop = log.scrollHeight;
    typingText.textContent = on ? `${typingName || 'Agent'} is typing…` : '';
    if (on) typingTimer = setTimeout(() => setTyping(false), 5000);
  }

  // ---- reading ----
  function markRead() {
    if (!isOpen || document.hidden || !ready) return;
    let s = 0;
    msgs.forEach((m) => m.sender !== 'visitor' && (s = Math.max(s, m.seq)));
    if (s > readSeq) {
      readSeq = s;
      set('read', String(s));
      socket.emit('read', { seq: s });
    }
  }
  const unread = () => {
    let n = 0;
    msgs.forEach((m) => m.sender !== 'visitor' && m.seq > readSeq && n++);
    return n;
  };

  // ---- rendering ----
  const els = new Map<string, { li: HTMLLIElement; who: HTMLElement; meta: HTMLElement }>();
  const fmtTime = (iso: string) => {
    const d = new Date(iso);
    return isNaN(+d) ? '' : d.toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' });
  };

  function element(k: string, sender: string, text: string) {
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
    li.append(who, bubble, meta);
    li.dataset.sender = sender;
    e = { li, who, meta };
    els.set(k, e);
    return e;
  }

  function renderList() {
    type Row = { k: string; sender: string; text: string; name: string; at: string; seq: number; p?: Pending };
    const rows: Row[] = [];
    [...msgs.values()]
      .sort((a, b) => a.seq - b.seq)
      .forEach((m) =>
        rows.push({
          k: m.sender === 'visitor' && m.clientId ? 'c' + m.clientId : 's' + m.seq,
          sender: m.sender,
          text: m.text,
          name: m.agentName || '',
          at: m.createdAt,
          seq: m.seq,
        }),
      );
    pending.forEach((p) => rows.push({ k: 'c' + p.clientId, sender: 'visitor', text: p.text, name: '', at: p.createdAt, seq: 0, p }));
    let lastOwn = -1;
    rows.forEach((r, i) => r.sender === 'visitor' && !r.p && (lastOwn = i));
    const keep = new Set<string>();
    let prev: Element | null = null;
    rows.forEach((r, i) => {
      keep.add(r.k);
      const { li, who, meta } = element(r.k, r.sender, r.text);
      const next = rows[i + 1];
      const before = rows[i - 1];
      const startRun = !before || before.sender !== r.sender || before.name !== r.name;
      const endRun = !next || next.sender !== r.sender || next.name !== r.name;
      li.className = `m ${r.sender === 'visitor' ? 'me' : r.sender === 'agent' ? 'them' : 'sys'}${startRun ? ' first' : ''}${endRun ? ' last' : ''}${r.p ? (r.p.failed ? ' failed' : ' pending') : ''}`;
      who.textContent = r.sender === 'agent' && startRun ? r.name || 'Support' : '';
      meta.textContent = '';
      if (r.p) {
        if (r.p.failed) {
          meta.append('Not sent · ');
          const b = document.createElement('button');
          b.type = 'button';
          b.className = 'retry';
          b.textContent = 'Retry';
          b.onclick = () => {
            r.p!.failed = undefined;
            saveQueue();
            render();
            flush();
          };
          meta.appendChild(b);
        } else meta.textContent = 'Sending…';
      } else if (r.sender === 'visitor' && i === lastOwn) {
        meta.textContent = `${fmtTime(r.at)} · ${agentReadSeq >= r.seq ? 'Read' : 'Sent'}`;
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

  function renderPrechat(show: boolean) {
    if (show && !fields.childElementCount) {
      for (const f of site.prechatFields) {
        const def = FIELD_LABEL[f];
        if (!def) continue;
        const label = document.createElement('label');
        const span = document.createElement('span');
        span.textContent = def[0];
        const inp = document.createElement('input');
        inp.name = f;
        inp.type = def[1];
        inp.setAttribute("autocomplete", def[2]);
        inp.maxLength = f === 'phone' ? 32 : f === 'name' ? 100 : 254;
        const v = visitor && visitor[f];
        if (v) inp.value = v;
        label.append(span, inp);
        fields.appendChild(label);
      }
    }
    prechat.hidden = !show;
    composer.hidden = show || !!fatal;
  }

  const needPrechat = () =>
    !!visitor &&
    site.prechatFields.length > 0 &&
    !get('prechat') &&
    msgs.size === 0 &&
    pending.length === 0 &&
    !visitor.name &&
    !visitor.email &&
    !visitor.phone;

  function render(forceBottom = false) {
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    const n = unread();
    badge.hidden = isOpen || n === 0;
    badge.textContent = n > 9 ? '9+' : String(n);
    launcher.setAttribute('aria-label', isOpen ? 'Close chat' : n ? `Open chat, ${n} unread` : 'Open chat');
    launcher.setAttribute('aria-expanded', String(isOpen));
    wrap.classList.toggle('open', isOpen);
    panel.hidden = !isOpen;
    if (!isOpen) return;
    title.textContent = site.name || 'Chat with us';
    const online = agentsOnline && socket.connected;
    wrap.classList.toggle('online', online);
    statusText.textContent = fatal
      ? 'Unavailable'
      : !ready && !everConnected
        ? 'Connecting…'
        : agentsOnline
          ? 'Online · we reply in a few minutes'
          : 'Away · we’ll reply here soon';
    hello.textContent = fatal || 'Hi there! Got a question? Send us a message and we’ll help you out.';
    const offline = navigator.onLine === false;
    conn.hidden = fatal !== '' || (!offline && (socket.connected || !everConnected));
    conn.textContent = offline
      ? 'You’re offline. Messages will be sent when you’re back online.'
      : 'Connection lost. Reconnecting…';
    const pre = needPrechat();
    renderPrechat(pre);
    renderList();
    away.hidden = agentsOnline || !ready || pre || status === 'ended';
    away.textContent = 'No one is online right now — leave a message and we’ll reply here as soon as we’re back.';
    ended.hidden = status !== 'ended';
    const top = maxSeq() + pending.length;
    if (forceBottom || atBottom) {
      log.scrollTop = log.scrollHeight;
      jump.hidden = true;
    } else if (top > lastTop) jump.hidden = false;
    lastTop = top;
    markRead();
  }
  let lastTop = 0;

  // ---- open / close ----
  function open() {
    if (!isOpen) {
      isOpen = true;
      set('open', '1');
      start();
      render(true);
    }
    setTimeout(() => {
      const f = !prechat.hidden ? prechat.querySelector('input') : input;
      (f as HTMLElement | null)?.focus();
    }, 0);
  }
  function close() {
    if (!isOpen) return;
    isOpen = false;
    set('open', null);
    stopTyping();
    render();
    launcher.focus();
  }

  launcher.onclick = () => (isOpen ? close() : open());
  $('.close').onclick = close;
  wrap.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && isOpen) {
      e.stopPropagation();
      close();
    }
  });
  jump.onclick = () => {
    log.scrollTop = log.scrollHeight;
    jump.hidden = true;
  };
  log.addEventListener('scroll', () => {
    if (log.scrollTop < 40) loadOlder();
    if (log.scrollHeight - log.scrollTop - log.clientHeight < 40) jump.hidden = true;
  });

  composer.onsubmit = (e) => {
    e.preventDefault();
    send(input.value);
    input.value = '';
    grow();
    input.focus();
  };
  const grow = () => {
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight, 120) + 'px';
  };
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      composer.requestSubmit();
    }
  });
  input.addEventListener('input', () => {
    grow();
    if (!input.value.trim()) return stopTyping();
    const now = Date.now();
    if (ready && now - typingSentAt > 2000) {
      typingSentAt = now;
      socket.emit('typing', { typing: true });
    }
    clearTimeout(stopTimer);
    stopTimer = setTimeout(stopTyping, 3000);
  });

  prechat.onsubmit = (e) => {
    e.preventDefault();
    const p: Profile = {};
    let bad = '';
    prechat.querySelectorAll('input').forEach((inp) => {
      const v = inp.value.trim();
      if (!v) return;
      if (inp.name === 'email' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v)) bad = 'Please enter a valid e-mail address.';
      if (inp.name === 'phone' && !/^[0-9 +\-()]{3,32}$/.test(v)) bad = 'Please enter a valid phone number.';
      (p as any)[inp.name] = v;
    });
    preErr.textContent = bad;
    if (bad) return;
    if (!Object.keys(p).length) {
      set('prechat', '1');
      render();
      input.focus();
      return;
    }
    const btn = prechat.querySelector('button')!;
    btn.disabled = true;
    sendProfile(p, (err) => {
      btn.disabled = false;
      preErr.textContent = err || '';
      if (!err) input.focus();
    });
  };

  // ---- browser state ----
  addEventListener('offline', () => {
    if (started) socket.disconnect();
    render();
  });
  addEventListener('online', () => {
    if (started && !fatal) socket.connect();
    render();
  });
  document.addEventListener('visibilitychange', () => markRead());
  addEventListener('storage', (e) => {
    if (e.key === key('read')) {
      readSeq = Math.max(readSeq, Number(e.newValue) || 0);
      render();
    } else if (e.key === key('prechat')) render();
  });

  w.Parlor = {
    version: 1,
    open,
    close,
    toggle: () => (isOpen ? close() : open()),
    identify(p: Profile) {
      const clean: Profile = {};
      (['name', 'email', 'phone'] as Field[]).forEach((f) => p && typeof p[f] === 'string' && (clean[f] = p[f]));
      set('prechat', '1');
      start();
      sendProfile(clean);
    },
  };

  const mount = () => {
    document.body.appendChild(host);
    render();
    if (token || isOpen || pending.length) start();
  };
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);
})();
