// The dashboard's state: one Socket.IO connection to /agent and everything the
// views show. Views subscribe and re-render on change.
import { io, type Socket } from 'socket.io-client';
import { uid, type Message, type Summary } from '../shared/types';

export interface Agent {
  id: string;
  name: string;
  siteId: string;
}
export interface PendingMsg {
  clientId: string;
  text: string;
  createdAt: string;
  failed?: string;
}
export interface Thread {
  msgs: Map<number, Message>;
  hasMore: boolean;
  loaded: boolean;
  loading: boolean;
  pending: PendingMsg[];
  sending: boolean;
}
export type Filter = 'all' | 'open' | 'ended';

const SESSION_KEY = 'parlor.session';

export class Store {
  token = '';
  agent: Agent | null = null;
  socket: Socket | null = null;
  connected = false;
  everConnected = false;
  notice = '';
  convs = new Map<string, Summary>();
  moreConvs: Record<Filter, boolean> = { all: false, open: true, ended: true };
  loadingConvs = false;
  threads = new Map<string, Thread>();
  typing = new Map<string, number>();
  visitorRead = new Map<string, number>();
  readSent = new Map<string, number>();
  selected: string | null = null;
  filter: Filter = 'all';
  search = '';
  notify = localStorage.getItem('parlor.sound') !== 'off';
  private listeners = new Set<() => void>();
  private queued = false;
  private audio: AudioContext | null = null;

  constructor() {
    try {
      const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
      if (s && s.token) {
        this.token = s.token;
        this.agent = s.agent;
      }
    } catch {
      /* ignore */
    }
    // The browser knows about lost connectivity before Socket.IO's heartbeat does.
    addEventListener('offline', () => this.socket?.disconnect());
    addEventListener('online', () => this.socket && !this.socket.connected && this.socket.connect());
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && this.selected) this.markRead(this.selected);
      this.changed();
    });
  }

  subscribe(f: () => void) {
    this.listeners.add(f);
    return () => void this.listeners.delete(f);
  }
  changed() {
    if (this.queued) return;
    this.queued = true;
    queueMicrotask(() => {
      this.queued = false;
      this.updateTitle();
      this.listeners.forEach((f) => f());
    });
  }

  // ---------- auth ----------
  async login(username: string, password: string): Promise<string | null> {
    let res: Response;
    try {
      res = await fetch('/api/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });
    } catch {
      return 'Cannot reach the server. Check your connection and try again.';
    }
    if (res.status === 401 || res.status === 403) return 'Wrong username or password.';
    if (res.status === 429) return 'Too many attempts. Wait a minute and try again.';
    if (!res.ok) return `The server answered with an error (${res.status}). Try again.`;
    const body = await res.json().catch(() => null);
    if (!body || !body.token) return 'Unexpected answer from the server.';
    this.token = body.token;
    this.agent = body.agent;
    this.notice = '';
    sessionStorage.setItem(SESSION_KEY, JSON.stringify({ token: this.token, agent: this.agent }));
    this.unlockAudio();
    if (this.notify && 'Notification' in window && Notification.permission === 'default') {
      void Notification.requestPermission().catch(() => {});
    }
    this.connect();
    this.changed();
    return null;
  }

  logout(notice = '') {
    sessionStorage.removeItem(SESSION_KEY);
    this.socket?.disconnect();
    this.socket = null;
    this.token = '';
    this.agent = null;
    this.connected = this.everConnected = false;
    this.convs.clear();
    this.threads.clear();
    this.typing.clear();
    this.visitorRead.clear();
    this.readSent.clear();
    this.selected = null;
    this.notice = notice;
    this.changed();
  }

  // ---------- socket ----------
  connect() {
    if (this.socket || !this.token) return;
    const s = io('/agent', { auth: { token: this.token } });
    this.socket = s;
    s.on('connect', () => {
      this.connected = true;
      this.everConnected = true;
      this.changed();
    });
    s.on('disconnect', (reason) => {
      this.connected = false;
      this.threads.forEach((t) => (t.sending = false));
      if (reason === 'io server disconnect') setTimeout(() => this.socket === s && s.connect(), 2000);
      this.changed();
    });
    s.on('connect_error', (err) => {
      if (err && err.message === 'unauthorized') {
        this.logout('Your session has expired. Please log in again.');
        return;
      }
      if (!s.active) setTimeout(() => this.socket === s && !s.connected && s.connect(), 3000);
      this.changed();
    });
    s.on('conversations', (p: { conversations: Summary[]; hasMore: boolean }) => {
      p.conversations.forEach((c) => this.convs.set(c.id, c));
      this.moreConvs.all = !!p.hasMore;
      // catch up every conversation we hold messages for
      this.threads.forEach((t, id) => t.loaded && this.sync(id));
      if (this.selected) this.markRead(this.selected);
      this.changed();
    });
    s.on('conversation', (c: Summary) => {
      this.convs.set(c.id, c);
      if (c.id === this.selected && c.unread) this.markRead(c.id);
      this.changed();
    });
    s.on('message', (m: Message) => this.onMessage(m));
    s.on('presence', (p: { conversationId: string; online: boolean }) => {
      const c = this.convs.get(p.conversationId);
      if (c) {
        this.convs.set(c.id, { ...c, online: p.online });
        this.changed();
      }
    });
    s.on('typing', (t: { conversationId: string; typing: boolean }) => {
      if (t.typing) {
        this.typing.set(t.conversationId, Date.now() + 5000);
        setTimeout(() => this.changed(), 5100);
      } else this.typing.delete(t.conversationId);
      this.changed();
    });
    s.on('read', (r: { conversationId: string; by: string; seq: number }) => {
      if (r.by === 'visitor') {
        this.visitorRead.set(r.conversationId, Math.max(this.visitorRead.get(r.conversationId) || 0, r.seq));
      } else {
        const c = this.convs.get(r.conversationId);
        if (c && (!c.lastMessage || r.seq >= c.lastMessage.seq)) this.convs.set(c.id, { ...c, unread: 0 });
        this.readSent.set(r.conversationId, Math.max(this.readSent.get(r.conversationId) || 0, r.seq));
      }
      this.changed();
    });
  }

  private onMessage(m: Message) {
    const t = this.threads.get(m.conversationId);
    if (t && t.loaded) {
      let top = 0;
      t.msgs.forEach((_, k) => (top = Math.max(top, k)));
      this.addMessages(t, [m]);
      // A skipped seq means a live event was lost (e.g. across cluster nodes): catch up.
      if (top > 0 && m.seq > top + 1) this.sync(m.conversationId, top);
    }
    const c = this.convs.get(m.conversationId);
    if (!c) {
      this.fetchConvs();
    } else {
      const newer = !c.lastMessage || m.seq >= c.lastMessage.seq;
      const visible = this.selected === m.conversationId && !document.hidden;
      this.convs.set(c.id, {
        ...c,
        lastMessage: newer ? m : c.lastMessage,
        updatedAt: newer && m.createdAt > c.updatedAt ? m.createdAt : c.updatedAt,
        status: m.sender === 'visitor' ? 'open' : c.status,
        unread: m.sender === 'visitor' && !visible ? c.unread + 1 : c.unread,
      });
      if (visible) this.markRead(m.conversationId);
    }
    if (m.sender === 'visitor') {
      this.typing.delete(m.conversationId);
      if (document.hidden) this.alert(m);
    }
    this.changed();
  }

  /** Takes listed conversations we do not hold or hold an older state of. A held one is kept
   * current by live events, which may be newer than the list: a profile change committed while
   * the list was read arrives before the list's reply and leaves `updatedAt` as it was. */
  private learn(list: Summary[]) {
    list.forEach((c) => {
      const held = this.convs.get(c.id);
      if (!held || c.updatedAt > held.updatedAt) this.convs.set(c.id, c);
    });
  }

  private fetchTimer: any = null;
  private fetchConvs() {
    if (this.fetchTimer) return;
    this.fetchTimer = setTimeout(() => {
      this.fetchTimer = null;
      this.socket?.emit('list', { limit: 20 }, (r: any) => {
        if (r && r.ok) this.learn(r.conversations);
        this.changed();
      });
    }, 150);
  }

  // ---------- conversation list ----------
  sorted(): Summary[] {
    const q = this.search.trim().toLowerCase();
    const out: Summary[] = [];
    this.convs.forEach((c) => {
      if (this.filter !== 'all' && c.status !== this.filter) return;
      if (q && !this.matches(c, q)) return;
      out.push(c);
    });
    return out.sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : 0));
  }
  private matches(c: Summary, q: string) {
    const v = c.visitor;
    const hay = [v.name, v.email, v.phone, displayName(c), c.lastMessage?.text];
    if (hay.some((h) => h && h.toLowerCase().includes(q))) return true;
    const t = this.threads.get(c.id);
    if (t) for (const m of t.msgs.values()) if (m.text.toLowerCase().includes(q)) return true;
    return false;
  }
  setFilter(f: Filter) {
    this.filter = f;
    this.changed();
    if (f !== 'all' && this.sorted().length < 20 && this.moreConvs[f]) this.loadMoreConvs();
  }
  loadMoreConvs() {
    const s = this.socket;
    if (!s || !this.connected || this.loadingConvs) return;
    const f = this.filter;
    const list = [...this.convs.values()].filter((c) => f === 'all' || c.status === f);
    const oldest = list.reduce<string | null>((o, c) => (o === null || c.updatedAt < o ? c.updatedAt : o), null);
    const req: any = { limit: 50 };
    if (oldest) req.before = oldest;
    if (f !== 'all') req.status = f;
    this.loadingConvs = true;
    this.changed();
    s.timeout(15000).emit('list', req, (err: any, r: any) => {
      this.loadingConvs = false;
      if (!err && r && r.ok) {
        this.learn(r.conversations);
        this.moreConvs[f] = !!r.hasMore;
        if (f === 'all') {
          this.moreConvs.open = this.moreConvs.ended = this.moreConvs.open || this.moreConvs.ended;
        }
      }
      this.changed();
    });
  }
  totalUnread() {
    let n = 0;
    this.convs.forEach((c) => (n += c.unread || 0));
    return n;
  }
  private updateTitle() {
    const n = this.totalUnread();
    document.title = `${n ? `(${n}) ` : ''}${this.token ? 'Inbox' : 'Log in'} — Parlor`;
  }

  // ---------- one conversation ----------
  thread(id: string): Thread {
    let t = this.threads.get(id);
    if (!t) {
      t = { msgs: new Map(), hasMore: false, loaded: false, loading: false, pending: [], sending: false };
      this.threads.set(id, t);
    }
    return t;
  }
  select(id: string | null) {
    this.selected = id;
    if (id) {
      const t = this.thread(id);
      if (!t.loaded && !t.loading) this.loadLatest(id);
      this.markRead(id);
    }
    this.changed();
  }
  private loadLatest(id: string) {
    const t = this.thread(id);
    const s = this.socket;
    if (!s || !this.connected) return;
    const c = this.convs.get(id);
    t.loading = true;
    s.timeout(15000).emit(
      'history',
      { conversationId: id, beforeSeq: (c?.lastMessage?.seq || 0) + 1, limit: 50 },
      (err: any, r: any) => {
        t.loading = false;
        if (!err && r && r.ok) {
          t.loaded = true;
          t.hasMore = !!r.hasMore;
          this.addMessages(t, r.messages);
          this.sync(id); // anything that arrived in between
          if (this.selected === id) this.markRead(id);
        }
        this.changed();
      },
    );
  }
  loadOlder(id: string): boolean {
    const t = this.thread(id);
    const s = this.socket;
    if (!s || !this.connected || t.loading || !t.hasMore || !t.msgs.size) return false;
    t.loading = true;
    s.timeout(15000).emit(
      'history',
      { conversationId: id, beforeSeq: Math.min(...t.msgs.keys()), limit: 50 },
      (err: any, r: any) => {
        t.loading = false;
        if (!err && r && r.ok) {
          t.hasMore = !!r.hasMore;
          this.addMessages(t, r.messages);
        }
        this.changed();
      },
    );
    this.changed();
    return true;
  }
  /** Fetches the messages after `from` (default: the highest seq held), page by page. */
  private sync(id: string, from?: number) {
    const t = this.thread(id);
    let after = 0;
    if (from === undefined) t.msgs.forEach((_, k) => (after = Math.max(after, k)));
    else after = from;
    this.socket?.emit('sync', { conversationId: id, afterSeq: after }, (r: any) => {
      if (!r || !r.ok) return;
      this.addMessages(t, r.messages);
      this.changed();
      if (r.hasMore && r.messages.length) this.sync(id, r.messages[r.messages.length - 1].seq);
      else this.flush(id);
    });
  }
  private addMessages(t: Thread, list: Message[]) {
    for (const m of list) {
      t.msgs.set(m.seq, m);
      if (m.sender === 'agent' && m.clientId) {
        const i = t.pending.findIndex((p) => p.clientId === m.clientId);
        if (i >= 0) t.pending.splice(i, 1);
      }
    }
  }
  markRead(id: string) {
    if (document.hidden || !this.connected) return;
    const c = this.convs.get(id);
    const t = this.threads.get(id);
    let seq = c?.lastMessage?.seq || 0;
    t?.msgs.forEach((m) => m.sender === 'visitor' && (seq = Math.max(seq, m.seq)));
    if (c && c.unread) this.convs.set(id, { ...c, unread: 0 });
    if (seq > (this.readSent.get(id) || 0)) {
      this.readSent.set(id, seq);
      this.socket?.emit('read', { conversationId: id, seq });
    }
  }
  send(id: string, text: string) {
    text = text.trim();
    if (!text) return;
    const t = this.thread(id);
    t.pending.push({ clientId: uid(), text, createdAt: new Date().toISOString() });
    this.typingOff(id);
    this.changed();
    this.flush(id);
  }
  retry(id: string, clientId: string) {
    const p = this.thread(id).pending.find((x) => x.clientId === clientId);
    if (p) p.failed = undefined;
    this.changed();
    this.flush(id);
  }
  discard(id: string, clientId: string) {
    const t = this.thread(id);
    t.pending = t.pending.filter((x) => x.clientId !== clientId);
    this.changed();
  }
  private flush(id: string) {
    const t = this.thread(id);
    const s = this.socket;
    if (!s || !this.connected || t.sending) return;
    const p = t.pending.find((x) => !x.failed);
    if (!p) return;
    t.sending = true;
    s.timeout(10000).emit('send', { conversationId: id, clientId: p.clientId, text: p.text }, (err: any, r: any) => {
      if (!t.sending) return; // reset by a disconnect; the next sync/flush retries
      t.sending = false;
      if (err) {
        p.failed = 'No answer from the server';
      } else if (r && r.ok) {
        this.addMessages(t, [r.message]);
        const i = t.pending.indexOf(p);
        if (i >= 0) t.pending.splice(i, 1);
        const c = this.convs.get(id);
        if (c)
          this.convs.set(id, {
            ...c,
            lastMessage: r.message,
            updatedAt: r.message.createdAt > c.updatedAt ? r.message.createdAt : c.updatedAt,
          });
      } else {
        p.failed = (r && r.error && r.error.message) || 'Not sent';
      }
      this.changed();
      if (!p.failed) this.flush(id);
    });
  }
  end(id: string): Promise<string | null> {
    return new Promise((resolve) => {
      const s = this.socket;
      if (!s || !this.connected) return resolve('Not connected');
      s.timeout(10000).emit('end', { conversationId: id }, (err: any, r: any) => {
        if (!err && r && r.ok) {
          if (r.conversation) this.convs.set(id, r.conversation);
          else {
            const c = this.convs.get(id);
            if (c) this.convs.set(id, { ...c, status: 'ended' });
          }
          this.changed();
          resolve(null);
        } else resolve((r && r.error && r.error.message) || 'Could not end the chat');
      });
    });
  }

  private typingAt = new Map<string, number>();
  typingOn(id: string) {
    const now = Date.now();
    if (now - (this.typingAt.get(id) || 0) < 2000) return;
    this.typingAt.set(id, now);
    this.socket?.emit('typing', { conversationId: id, typing: true });
  }
  typingOff(id: string) {
    if (!this.typingAt.get(id)) return;
    this.typingAt.set(id, 0);
    this.socket?.emit('typing', { conversationId: id, typing: false });
  }
  isTyping(id: string) {
    return (this.typing.get(id) || 0) > Date.now();
  }

  // ---------- notifications ----------
  unlockAudio() {
    try {
      if (!this.audio) this.audio = new AudioContext();
      if (this.audio.state === 'suspended') void this.audio.resume();
    } catch {
      /* no audio */
    }
  }
  setNotify(on: boolean) {
    this.notify = on;
    localStorage.setItem('parlor.sound', on ? 'on' : 'off');
    if (on) {
      this.unlockAudio();
      if ('Notification' in window && Notification.permission === 'default') void Notification.requestPermission();
    }
    this.changed();
  }
  private alert(m: Message) {
    if (!this.notify) return;
    const a = this.audio;
    if (a && a.state === 'running') {
      const t0 = a.currentTime;
      [880, 1320].forEach((f, i) => {
        const o = a.createOscillator();
        const g = a.createGain();
        o.frequency.value = f;
        g.gain.setValueAtTime(0.0001, t0 + i * 0.12);
        g.gain.exponentialRampToValueAtTime(0.15, t0 + i * 0.12 + 0.02);
        g.gain.exponentialRampToValueAtTime(0.0001, t0 + i * 0.12 + 0.3);
        o.connect(g).connect(a.destination);
        o.start(t0 + i * 0.12);
        o.stop(t0 + i * 0.12 + 0.32);
      });
    }
    if ('Notification' in window && Notification.permission === 'granted') {
      const c = this.convs.get(m.conversationId);
      try {
        const n = new Notification(c ? displayName(c) : 'New message', {
          body: m.text.slice(0, 140),
          tag: m.conversationId,
          icon: '/favicon.svg',
        });
        n.onclick = () => {
          window.focus();
          this.select(m.conversationId);
          n.close();
        };
      } catch {
        /* not allowed */
      }
    }
  }
}

const ADJ = ['Amber', 'Brave', 'Calm', 'Clever', 'Coral', 'Gentle', 'Golden', 'Happy', 'Jolly', 'Lucky', 'Mellow', 'Misty', 'Quiet', 'Rosy', 'Sunny', 'Swift'];
const ANIMAL = ['Badger', 'Crane', 'Dolphin', 'Falcon', 'Fox', 'Hedgehog', 'Heron', 'Koala', 'Lynx', 'Otter', 'Owl', 'Panda', 'Puffin', 'Robin', 'Seal', 'Wren'];
export function hash(s: string) {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
export function displayName(c: Summary): string {
  const v = c.visitor;
  if (v.name) return v.name;
  if (v.email) return v.email;
  const h = hash(v.id || c.id);
  return `${ADJ[h % 16]} ${ANIMAL[(h >>> 4) % 16]}`;
}

export const store = new Store();
