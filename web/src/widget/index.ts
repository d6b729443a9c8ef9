// Parlor's embeddable chat widget.
//
//   <script src="https://HOST/widget.js" data-site="SITE_KEY" async></script>
//
// With data-mode="page" the chat is the whole page (Parlor's hosted pages /chat/KEY and
// /c/TOKEN): no launcher, always open, no close button. With data-token="TOKEN" (a
// conversation link from an e-mail) the widget joins that conversation with that token instead
// of this browser's own, and keeps what it stores apart from it.
//
// Renders inside a Shadow DOM, talks Socket.IO to the origin the script was
// loaded from, and adds one global: window.Parlor { open, close, toggle, identify }.
// User text is only ever rendered with text nodes.
//
// The conversation itself (messages, gaps, history, the send queue, read markers) is the
// shared `Thread`; this file connects it to the socket, localStorage and the DOM
// (`template.ts` the markup, `list.ts` the messages). Its built-in texts are in the visitor's
// language (`i18n.ts`); the site's office hours are worked out in `office-hours.ts`, and the
// "E-mail me this conversation" control is `transcript.ts`. Files (the attach button, paste,
// drag and drop, the tray of uploads, attachments in messages) are `files.ts` over the shared
// `Uploads`.
import { io } from 'socket.io-client';
import css from './style.css?inline';
import { acker } from '../shared/ack';
import { Thread, type Pending } from '../shared/thread';
import type { Message, Profile, ThreadRequests, Visitor, VisitorRequests } from '../shared/types';
import { FIELD_LABEL, TEMPLATE, labelTemplate, type Field } from './template';
import { messageList } from './list';
import { catalogues, pickLanguage } from './i18n';
import { backWhen, nextSwitch, officeState, type OfficeHours, type OfficeState } from './office-hours';
import { TranscriptControl, looksLikeEmail, noteText, type TranscriptRequests } from './transcript';
import { Uploads, pastedName } from '../shared/uploads';
import { fileViews } from './files';

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
  // The whole page is the chat (the hosted pages).
  const fullPage = script.getAttribute('data-mode') === 'page';
  // A conversation link's token: this conversation, whatever this browser had before.
  const linkToken = script.getAttribute('data-token') || null;
  // The visitor's language, for every built-in text and the times.
  const lang = pickLanguage(navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language]);
  const t = catalogues[lang];

  // ---- storage (localStorage may throw in sandboxed or private contexts) ----
  // A link's conversation keeps its queue and read markers apart from this browser's own
  // conversation with the site (named by a hash: the token itself is not written down).
  const prefix = linkToken ? `parlor:${siteKey}:link-${fnv1a(linkToken)}:` : `parlor:${siteKey}:`;
  const key = (k: string) => prefix + k;
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
  let token = linkToken || get('token');
  let visitor: Visitor | null = null;
  let site = {
    name: '',
    prechatFields: ['name', 'email'] as Field[],
    prechatRequired: [] as Field[],
    allowedQueryParams: [] as string[],
    // The site's own texts (set by its admins); null: the built-in ones.
    greeting: null as string | null,
    awayMessage: null as string | null,
    // null: always open.
    officeHours: null as OfficeHours | null,
    // Whether this server e-mails transcripts.
    transcripts: false,
  };
  let office: OfficeState | null = null; // the office hours now (null: always open)
  let officeTimer: any;
  let status: 'open' | 'ended' = 'open';
  let agentsOnline = false;
  let isOpen = fullPage || get('open') === '1';
  let ready = false; // got a session on the current connection
  let everConnected = false;
  let fatal = '';
  let wantProfile: Profile | null = null;
  let typingName = '';
  let typingTimer: any;

  // ---- DOM ----
  const host = document.createElement('parlor-chat');
  // CSSOM, not a style attribute or element, so strict host-page CSPs allow it.
  host.style.cssText = fullPage
    ? 'all:initial;position:fixed;z-index:2147483000;inset:0'
    : 'all:initial;position:fixed;z-index:2147483000;bottom:0;right:0;width:0;height:0';
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
  wrap.className = fullPage ? 'root page' : 'root';
  wrap.lang = lang;
  if (color && /^#[0-9a-f]{3,8}$/i.test(color)) wrap.style.setProperty('--p', color);
  wrap.innerHTML = TEMPLATE; // static markup only
  labelTemplate(wrap, t);
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
  const awayText = $('.away-text');
  const back = $('.back');
  const ended = $('.ended');
  const jump = $<HTMLButtonElement>('.jump');
  const prechat = $<HTMLFormElement>('.prechat');
  const fields = $('.fields');
  const preErr = $('.err');
  const typing = $('.typing');
  const typingText = $('.typing-text');
  const composer = $<HTMLFormElement>('.composer');
  const input = $<HTMLTextAreaElement>('textarea');
  const trayBox = $('.tray');
  const attach = $<HTMLButtonElement>('.attach');
  const pick = $<HTMLInputElement>('.pick');
  const sendButton = $<HTMLButtonElement>('.send');
  const transcriptBox = $('.transcript');
  const transcriptOffer = $<HTMLButtonElement>('.transcript-offer');
  const transcriptForm = $<HTMLFormElement>('.transcript-form');
  const transcriptInput = $<HTMLInputElement>('.transcript-form input');
  const transcriptSend = $<HTMLButtonElement>('.transcript-form button');
  const transcriptNote = $('.transcript-note');
  const closeButton = $<HTMLButtonElement>('.close');
  if (fullPage) {
    // The page is the chat: nothing to open or close.
    launcher.hidden = true;
    closeButton.hidden = true;
    panel.setAttribute('role', 'main');
  }

  // ---- socket and conversation ----
  const socket = io(origin + '/visitor', {
    autoConnect: false,
    transports: ['websocket', 'polling'],
    tryAllTransports: true,
    auth: (cb: (a: object) => void) => cb(token ? { siteKey, token } : { siteKey }),
  } as any);
  const request = acker<VisitorRequests>(() => socket);
  const thread = new Thread(
    { ack: acker<ThreadRequests>(() => socket) },
    {
      own: 'visitor',
      // A visitor's message is never given up on a lost answer or a busy server: it waits.
      retryAfter: (e) => (e.code === 'timeout' ? 500 : e.code === 'rate_limited' || e.code === 'internal' ? 3000 : undefined),
    },
  );
  // What survives a reload: the messages not yet sent and both read markers.
  try {
    const saved = JSON.parse(get('queue') || '[]');
    if (Array.isArray(saved)) thread.restore(saved.filter((p: Pending) => p && typeof p.clientId === 'string' && typeof p.text === 'string'));
  } catch {
    /* ignore */
  }
  thread.readUpTo(Number(get('read')) || 0); // agent messages the visitor has seen
  thread.peerReadUpTo(Number(get('seen')) || 0); // visitor messages an agent has seen
  const transcript = new TranscriptControl(acker<TranscriptRequests>(() => socket), {
    lastSeq: () => thread.lastSeq(),
    onVisitor: (v) => {
      visitor = v;
    },
    onChange: () => render(),
  });
  // Files upload as soon as they are picked, with the visitor's token (once a session gave
  // one); the message takes them when it is sent.
  const uploads = new Uploads({
    target: (name) => (token && ready ? { url: `${origin}/api/uploads?filename=${encodeURIComponent(name)}`, bearer: token } : null),
    onChange: () => render(),
  });
  const files = fileViews(origin, () => token, t, lang);
  const renderTray = files.tray(trayBox, uploads);
  const stored: Record<string, string | null> = {};
  const store = (k: string, v: string | null) => stored[k] !== v && set(k, (stored[k] = v));
  let queued = false;
  thread.subscribe(() => {
    store('queue', thread.pending.length ? JSON.stringify(thread.pending) : null);
    store('read', thread.read ? String(thread.read) : null);
    store('seen', thread.peerRead ? String(thread.peerRead) : null);
    // One render for whatever changed in this turn.
    if (!queued) {
      queued = true;
      queueMicrotask(() => {
        queued = false;
        render();
      });
    }
  });
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
    thread.setOnline(false);
    setTyping(false);
    if (reason === 'io server disconnect') setTimeout(() => started && socket.connect(), 2000);
    render();
  });
  socket.on('connect_error', (err) => {
    if (err && err.message === 'unknown_site') {
      fatal = t.unavailable;
      console.warn('[parlor] unknown site key', siteKey);
      socket.disconnect();
    } else if (!socket.active) {
      setTimeout(() => started && !socket.connected && socket.connect(), 3000);
    }
    render();
  });

  socket.on('session', (s: any) => {
    if (visitor && s.visitor && visitor.id !== s.visitor.id) {
      // a different identity (e.g. the old token expired): start afresh
      thread.reset();
      rows.clear();
      transcript.reset();
      uploads.clear(); // they were for the old conversation
    }
    const first = !thread.messages.length;
    token = s.token;
    set('token', token);
    visitor = s.visitor;
    if (s.site) {
      const form = JSON.stringify([site.prechatFields, site.prechatRequired]);
      site = {
        name: s.site.name || '',
        prechatFields: s.site.prechatFields || site.prechatFields,
        prechatRequired: s.site.prechatRequired || [],
        allowedQueryParams: s.site.allowedQueryParams || [],
        greeting: s.site.greeting || null,
        awayMessage: s.site.awayMessage || null,
        officeHours: s.site.officeHours || null,
        transcripts: s.site.transcripts === true,
      };
      updateOffice();
      // The site's accent colour (its admins' setting) wins over the snippet's data-color.
      const accent = s.site.accentColor;
      if (accent && /^#[0-9a-f]{6}$/i.test(accent)) wrap.style.setProperty('--p', accent);
      // A changed form is built anew at its next showing.
      if (JSON.stringify([site.prechatFields, site.prechatRequired]) !== form) fields.replaceChildren();
    }
    status = s.conversation.status;
    agentsOnline = !!s.agentsOnline;
    thread.latest({ messages: s.messages || [], hasMore: !!s.hasMore });
    ready = true;
    // The session brings the latest 50: fetch what came between them and what we held.
    if (!first) void thread.catchUp();
    if (wantProfile) sendProfile(wantProfile);
    reportPage();
    thread.setOnline(true); // sends the queued messages, after the profile
    uploads.pump(); // files picked before there was a session
    render(first);
  });

  socket.on('message', (m: Message) => {
    thread.receive(m);
    if (m.sender !== 'visitor') setTyping(false);
  });
  socket.on('typing', (t: { typing: boolean; agentName?: string }) => {
    typingName = t.agentName || '';
    setTyping(!!t.typing);
  });
  socket.on('presence', (p: { agentsOnline: boolean }) => {
    agentsOnline = !!p.agentsOnline;
    render();
  });
  socket.on('read', (r: { seq: number }) => thread.peerReadUpTo(r.seq));
  socket.on('conversation', (c: { status: 'open' | 'ended' }) => {
    status = c.status;
    render();
  });

  function send(text: string) {
    // The files still uploading go with the message, so it waits for them.
    if (uploads.busy() || !thread.send(text, uploads.take())) return;
    stopTyping();
    start();
    render(true);
  }

  function sendProfile(p: Profile, done?: (err?: string) => void) {
    wantProfile = p;
    if (!ready) return;
    void request('profile', p).then((r) => {
      if (!r.ok && r.error.code === 'timeout') return done && done(t.errUnreachable);
      wantProfile = null;
      if (r.ok) {
        visitor = r.visitor;
        set('prechat', '1');
        done && done();
      } else done && done(r.error.code === 'invalid' ? t.errRefused : t.errUnreachable);
      render();
    });
  }

  // The page as agents see it: origin and path, and only the query parameters the site allows
  // (the rest, and the fragment, often carry secrets such as `?token=`). The server strips
  // them again.
  function pageUrl(): string {
    // Parlor's own hosted page: its plain address, never the link (the token is in its path).
    if (fullPage && location.origin === origin) return `${origin}/chat/${encodeURIComponent(siteKey!)}`;
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
    typingText.textContent = on ? t.typing(typingName) : '';
    if (on) typingTimer = setTimeout(() => setTyping(false), 5000);
  }

  // ---- reading ----
  function markRead() {
    if (isOpen && !document.hidden && ready) thread.markRead();
  }

  // ---- rendering ----
  const rows = messageList(list, (clientId) => thread.retry(clientId), t, lang, files.attachments);

  // ---- office hours ----
  // Switches at the opening or closing without reconnecting; while closed, also at the
  // visitor's midnight, when "tomorrow at 9:00" becomes "today at 9:00".
  function updateOffice() {
    clearTimeout(officeTimer);
    const now = Date.now();
    office = officeState(site.officeHours, now);
    let wait = nextSwitch(office, now);
    if (office && !office.open && office.opensAt != null) {
      const midnight = new Date(now);
      midnight.setHours(24, 0, 0, 0);
      wait = Math.min(wait ?? Infinity, +midnight - now);
    }
    if (wait != null) {
      officeTimer = setTimeout(() => {
        updateOffice();
        render();
      }, wait);
    }
  }

  function renderPrechat(show: boolean) {
    if (show && !fields.childElementCount) {
      for (const f of site.prechatFields) {
        const def = FIELD_LABEL[f];
        if (!def) continue;
        const label = document.createElement('label');
        const span = document.createElement('span');
        const required = site.prechatRequired.includes(f);
        span.textContent = required ? `${t[def[0]]} *` : t[def[0]];
        const inp = document.createElement('input');
        inp.name = f;
        inp.required = required;
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
    thread.messages.length === 0 &&
    thread.pending.length === 0 &&
    !visitor.name &&
    !visitor.email &&
    !visitor.phone;

  function render(forceBottom = false) {
    more.hidden = !thread.loading;
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    const fromBottom = log.scrollHeight - log.scrollTop;
    const n = thread.unread();
    badge.hidden = isOpen || n === 0;
    badge.textContent = n > 9 ? '9+' : String(n);
    launcher.setAttribute('aria-label', isOpen ? t.closeChat : n ? t.openChatUnread(n) : t.openChat);
    launcher.setAttribute('aria-expanded', String(isOpen));
    wrap.classList.toggle('open', isOpen);
    panel.hidden = !isOpen;
    if (!isOpen) return;
    title.textContent = site.name || t.title;
    // Outside the office hours the team is away, whoever is online.
    const closed = !!office && !office.open;
    const online = agentsOnline && !closed && socket.connected;
    wrap.classList.toggle('online', online);
    statusText.textContent = fatal
      ? t.statusUnavailable
      : !ready && !everConnected
        ? t.statusConnecting
        : closed
          ? t.statusClosed
          : agentsOnline
            ? t.statusOnline
            : t.statusAway;
    hello.textContent = fatal || site.greeting || t.greeting;
    const offline = navigator.onLine === false;
    conn.hidden = fatal !== '' || (!offline && (socket.connected || !everConnected));
    conn.textContent = offline ? t.offline : t.reconnecting;
    const pre = needPrechat();
    renderPrechat(pre);
    rows.render(thread.messages, thread.pending, thread.peerRead);
    renderTray();
    sendButton.disabled = uploads.busy();
    away.hidden = (agentsOnline && !closed) || !ready || pre || status === 'ended';
    awayText.textContent = site.awayMessage || t.awayMessage;
    const opensAt = closed ? office!.opensAt : null;
    back.hidden = opensAt == null;
    back.textContent = opensAt == null ? '' : t.back(backWhen(opensAt, Date.now(), lang));
    ended.hidden = status !== 'ended';
    renderTranscript(pre);
    const top = thread.lastSeq() + thread.pending.length;
    const oldest = thread.messages.length ? thread.messages[0].seq : 0;
    if (forceBottom || atBottom) {
      log.scrollTop = log.scrollHeight;
      jump.hidden = true;
    } else {
      // Older messages came in above: keep what the visitor was reading in place.
      if (oldest < firstShown) log.scrollTop = log.scrollHeight - fromBottom;
      if (top > lastTop) jump.hidden = false;
    }
    lastTop = top;
    firstShown = oldest;
    markRead();
  }
  let lastTop = 0;
  let firstShown = 0;

  function renderTranscript(pre: boolean) {
    const v = transcript.view(site.transcripts && !pre && !fatal);
    transcriptBox.hidden = !v;
    if (!v) return;
    transcriptOffer.hidden = !v.offer;
    transcriptForm.hidden = !v.form;
    transcriptInput.readOnly = v.busy;
    transcriptSend.disabled = v.busy;
    transcriptNote.textContent = noteText(v, t);
    transcriptNote.classList.toggle('bad', v.note === 'later' || v.note === 'failed' || v.note === 'badEmail');
  }

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
    if (!isOpen || fullPage) return;
    isOpen = false;
    set('open', null);
    stopTyping();
    render();
    launcher.focus();
  }

  launcher.onclick = () => (isOpen ? close() : open());
  closeButton.onclick = close;
  wrap.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && isOpen && !fullPage) {
      e.stopPropagation();
      close();
    }
  });
  jump.onclick = () => {
    log.scrollTop = log.scrollHeight;
    jump.hidden = true;
  };
  log.addEventListener('scroll', () => {
    if (log.scrollTop < 40) thread.loadOlder();
    if (log.scrollHeight - log.scrollTop - log.clientHeight < 40) jump.hidden = true;
  });

  transcriptOffer.onclick = () => {
    void transcript.offer(visitor && visitor.email);
    if (!transcriptForm.hidden) {
      render(true);
      transcriptInput.focus();
    }
  };
  transcriptForm.onsubmit = (e) => {
    e.preventDefault();
    void transcript.submit(transcriptInput.value);
  };

  composer.onsubmit = (e) => {
    e.preventDefault();
    if (uploads.busy()) return;
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
  // ---- files: the attach button, a pasted file (a screenshot), files dropped on the panel ----
  const addFiles = (list: FileList | null | undefined, pasted?: boolean) => {
    if (!list || !list.length || composer.hidden) return false;
    uploads.add(list, pasted ? pastedName : undefined);
    start();
    return true;
  };
  attach.onclick = () => pick.click();
  pick.onchange = () => {
    addFiles(pick.files);
    pick.value = '';
    input.focus();
  };
  input.addEventListener('paste', (e) => {
    const c = e.clipboardData;
    // Text copied with an image of itself (from an office suite) pastes as text.
    if (c && !c.types.includes('text/plain') && addFiles(c.files, true)) e.preventDefault();
  });
  const dragging = (e: DragEvent) => !!e.dataTransfer && e.dataTransfer.types.includes('Files') && !composer.hidden;
  panel.addEventListener('dragover', (e) => {
    if (!dragging(e)) return;
    e.preventDefault();
    panel.classList.add('drop');
  });
  panel.addEventListener('dragleave', (e) => {
    if (!panel.contains(e.relatedTarget as Node)) panel.classList.remove('drop');
  });
  panel.addEventListener('drop', (e) => {
    panel.classList.remove('drop');
    if (!dragging(e)) return;
    e.preventDefault();
    addFiles(e.dataTransfer!.files);
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
      if (!v && inp.required && !bad) bad = t.errRequired;
      if (!v) return;
      if (inp.name === 'email' && !looksLikeEmail(v)) bad = t.errEmail;
      if (inp.name === 'phone' && !/^[0-9 +\-()]{3,32}$/.test(v)) bad = t.errPhone;
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
    if (e.key === key('read')) thread.readUpTo(Number(e.newValue) || 0);
    else if (e.key === key('prechat')) render();
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
    if (token || isOpen || thread.pending.length) start();
  };
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);
})();

/** FNV-1a of `s`, in base 36: a short name for a link's storage that does not reveal the link. */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36);
}
