// The dashboard's state: one Socket.IO connection to /agent and everything the
// views show. Views subscribe and re-render on change. Each conversation opened is a shared
// `Thread` (messages, gaps, history, the send queue, read markers); the conversation list
// is kept here.
import { io, type Socket } from 'socket.io-client';
import { acker } from '../shared/ack';
import { Thread } from '../shared/thread';
import { Uploads } from '../shared/uploads';
import type { AgentRequests, Attachment, Message, Summary, ThreadRequests } from '../shared/types';
import { Team, type AdminRequests, type Member } from './team';
import { inviteToken, type Session } from './invite';
import { resetToken } from './reset';
import { linkedConversation } from './conversation-link';
import { Settings, type SettingsRequests } from './settings';
import { OwnMail, profileRefusal, type ProfileChange, type ProfileRequests } from './profile';
import { sendTranscript, type TranscriptOutcome, type TranscriptRequests } from './transcript';

export interface Agent {
  id: string;
  name: string;
  siteId: string;
  /** "admin" also manages the team and the site's settings. */
  role: 'admin' | 'agent';
  /** The username signed in with (the server's answers do not carry it); absent in a session
   * kept from before it was recorded. */
  username?: string;
}
export type Filter = 'all' | 'open' | 'ended';
/** What the dashboard shows: the conversations, (admins) the Team or Settings page, or the
 * agent's own Profile. */
export type View = 'inbox' | 'team' | 'settings' | 'profile';

const PATHS: Record<View, string> = {
  inbox: '/admin',
  team: '/admin/team',
  settings: '/admin/settings',
  profile: '/admin/profile',
};
/** The page an address names (the inbox for any other). */
function viewOf(pathname: string): View {
  const p = pathname.replace(/\/$/, '');
  return (Object.keys(PATHS) as View[]).find((v) => PATHS[v] === p) || 'inbox';
}
/** Pages only admins see. */
const ADMIN_ONLY: View[] = ['team', 'settings'];
const TITLES: Record<View, string> = { inbox: 'Inbox', team: 'Team', settings: 'Settings', profile: 'Profile' };

const SESSION_KEY = 'parlor.session';

export class Store {
  token = '';
  agent: Agent | null = null;
  socket: Socket | null = null;
  /** The session is open: connected, and the server has sent `conversations`. */
  connected = false;
  everConnected = false;
  notice = '';
  convs = new Map<string, Summary>();
  moreConvs: Record<Filter, boolean> = { all: false, open: true, ended: true };
  loadingConvs = false;
  threads = new Map<string, Thread>();
  /** The files of the reply being written, per conversation. */
  private files = new Map<string, Uploads>();
  typing = new Map<string, number>();
  selected: string | null = null;
  filter: Filter = 'all';
  search = '';
  notify = localStorage.getItem('parlor.sound') !== 'off';
  /** The page asked for by the address; `team` and `settings` show only to admins (`page()`). */
  view: View = viewOf(location.pathname);
  /** The token of an invitation link being opened (`/admin/invite/TOKEN`), else null. */
  invite: string | null = inviteToken(location.pathname);
  /** The token of a password-reset link being opened (`/admin/reset/TOKEN`), else null. */
  reset: string | null = resetToken(location.pathname);
  /** The conversation an e-mail's link names (`/admin/conversations/ID`), selected once the
   * session opens. */
  private linked: string | null = linkedConversation(location.pathname);
  readonly team = new Team(acker<AdminRequests>(() => this.socket), {
    onChange: () => this.changed(),
    me: () => this.agent?.id,
    onSelf: (m) => this.updateSelf(m),
  });
  readonly settings = new Settings(acker<SettingsRequests>(() => this.socket), { onChange: () => this.changed() });
  private profileRequest = acker<ProfileRequests>(() => this.socket);
  /** The agent's own e-mail settings (Profile page). */
  readonly mail = new OwnMail(this.profileRequest, { onChange: () => this.changed() });
  private transcriptRequest = acker<TranscriptRequests>(() => this.socket);
  private listeners = new Set<() => void>();
  private queued = false;
  private audio: AudioContext | null = null;
  private request = acker<AgentRequests>(() => this.socket);

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
    addEventListener('popstate', () => {
      this.view = viewOf(location.pathname);
      this.invite = inviteToken(location.pathname);
      this.reset = resetToken(location.pathname);
      this.loadPage();
      this.changed();
    });
    addEventListener('online', () => this.socket && !this.socket.connected && this.socket.connect());
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && this.selected) this.markRead(this.selected);
      if (!document.hidden && this.page() === 'team') this.loadPage();
      this.changed();
    });
    this.changed(); // the title of the page the address names
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
    // Usernames are compared exactly: the one typed is the agent's.
    this.adopt(body, username);
    return null;
  }

  /** Starts the session a login (or an accepted invitation or reset) answered, in place of
   * whichever this tab had. */
  adopt(body: Session, username?: string) {
    if (this.socket || (this.agent && this.agent.id !== body.agent.id)) this.forget();
    this.token = body.token;
    this.agent = { ...body.agent, role: body.agent.role === 'admin' ? 'admin' : 'agent', username };
    this.notice = '';
    this.saveSession();
    this.unlockAudio();
    if (this.notify && 'Notification' in window && Notification.permission === 'default') {
      void Notification.requestPermission().catch(() => {});
    }
    this.connect();
    this.changed();
  }

  private saveSession() {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify({ token: this.token, agent: this.agent }));
  }

  /** The server answered the logged-in agent itself (an admin changed their own role). */
  private updateSelf(m: Member) {
    if (!this.agent) return;
    this.agent = { ...this.agent, name: m.name, role: m.role, username: m.username };
    this.saveSession();
    this.changed();
  }

  /** Changes the agent's own name and/or password (`profile`); answers the refusal as the page
   * shows it, or null. A new password ends every older session, this connection's too: the
   * session goes on here with the token the server answered, on a new connection. */
  async changeProfile(change: ProfileChange): Promise<string | null> {
    if (!this.socket || !this.connected) return 'Not connected. Try again when the connection is back.';
    const r = await this.profileRequest('profile', change);
    if (!r.ok) return profileRefusal(r.error);
    if (!this.agent) return null;
    this.agent = { ...this.agent, name: r.agent.name, role: r.agent.role === 'admin' ? 'admin' : 'agent' };
    if (r.token) {
      this.token = r.token;
      this.reconnect();
    }
    this.saveSession();
    this.changed();
    return null;
  }

  /** Drops the connection and opens a new one with the current token. */
  private reconnect() {
    const old = this.socket;
    if (old) {
      old.off();
      old.disconnect();
    }
    this.socket = null;
    this.connected = false;
    this.threads.forEach((t) => t.setOnline(false));
    this.connect();
  }

  isAdmin() {
    return this.agent?.role === 'admin';
  }

  // ---------- pages ----------
  /** The page shown: Team and Settings only to admins (others see the inbox). */
  page(): View {
    return ADMIN_ONLY.includes(this.view) && !this.isAdmin() ? 'inbox' : this.view;
  }
  /** Opens a page, as a new history entry. */
  show(view: View) {
    if (view === this.page() && view === this.view) return;
    this.view = view;
    const path = PATHS[view];
    if (location.pathname !== path) history.pushState(null, '', path);
    this.loadPage();
    this.changed();
  }
  /** Reads what the page shown needs. Before the session is open, `conversations` does. */
  private loadPage() {
    if (!this.connected) return;
    if (this.page() === 'team') void this.team.load();
    if (this.page() === 'settings') void this.settings.load();
    if (this.page() === 'profile') void this.mail.load();
  }
  /** Leaves the invitation or reset page for the dashboard (after signing up, or to log in). */
  leaveInvite() {
    this.invite = this.reset = null;
    history.replaceState(null, '', '/admin');
    this.view = 'inbox';
    this.changed();
  }

  logout(notice = '') {
    this.forget();
    this.notice = notice;
    this.changed();
  }

  /** Ends the session in this tab and forgets what it showed. */
  private forget() {
    sessionStorage.removeItem(SESSION_KEY);
    this.socket?.off();
    this.socket?.disconnect();
    this.socket = null;
    this.token = '';
    this.agent = null;
    this.connected = this.everConnected = false;
    this.convs.clear();
    this.threads.forEach((t) => t.setOnline(false));
    this.threads.clear();
    this.files.forEach((u) => u.clear());
    this.files.clear();
    this.typing.clear();
    this.selected = null;
    this.team.reset();
    this.settings.reset();
    this.mail.reset();
  }

  // ---------- socket ----------
  connect() {
    if (this.socket || !this.token) return;
    // WebSocket first: its handshake carries the dashboard's Origin, which the server makes
    // invitation links from when PARLOR_PUBLIC_URL is unset (a same-origin polling request has
    // no Origin header). Polling remains the fallback where WebSocket is blocked.
    const s = io('/agent', { auth: { token: this.token }, transports: ['websocket', 'polling'], tryAllTransports: true });
    this.socket = s;
    // The session is open once `conversations` arrives, not at `connect`: the server registers
    // its request handlers after it has sent the connect packet, so a request sent at once
    // could reach it before they exist and never be answered. `conversations` is emitted on
    // every connection after that.
    s.on('connect', () => this.changed());
    s.on('disconnect', (reason) => {
      this.connected = false;
      this.threads.forEach((t) => t.setOnline(false));
      if (reason === 'io server disconnect') setTimeout(() => this.socket === s && s.connect(), 2000);
      this.changed();
    });
    s.on('connect_error', (err) => {
      if (err && err.message === 'unauthorized') {
        this.logout('Your session has ended. Please log in again.');
        return;
      }
      if (!s.active) setTimeout(() => this.socket === s && !s.connected && s.connect(), 3000);
      this.changed();
    });
    s.on('conversations', (p: { conversations: Summary[]; hasMore: boolean }) => {
      if (!this.connected) {
        this.connected = true;
        this.everConnected = true;
        this.threads.forEach((t) => t.setOnline(true));
        // Changes made while we were away (another admin, the CLI) show on the Team page; the
        // Settings page reads the settings it edits once the session is open.
        if (this.page() === 'team') void this.team.load();
        if (this.page() === 'settings' && !this.settings.current) void this.settings.load();
        if (this.page() === 'profile' && !this.mail.current) void this.mail.load();
      }
      p.conversations.forEach((c) => this.convs.set(c.id, c));
      this.moreConvs.all = !!p.hasMore;
      if (this.linked) {
        this.select(this.linked);
        this.linked = null;
      }
      // catch up every conversation we hold messages for
      this.threads.forEach((t) => t.loaded && void t.catchUp());
      if (this.selected) this.markRead(this.selected);
      this.changed();
    });
    s.on('conversation', (c: Summary) => {
      this.convs.set(c.id, c);
      if (c.id === this.selected && c.unread) this.markRead(c.id);
      this.changed();
    });
    s.on('message', (m: Message) => this.onMessage(m));
    s.on('agentPresence', (p: { agentId: string; online: boolean }) => {
      if (p && typeof p.agentId === 'string') this.team.presence(p.agentId, !!p.online);
    });
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
      if (r.by === 'visitor') this.thread(r.conversationId).peerReadUpTo(r.seq);
      else {
        const c = this.convs.get(r.conversationId);
        if (c && (!c.lastMessage || r.seq >= c.lastMessage.seq)) this.convs.set(c.id, { ...c, unread: 0 });
        this.thread(r.conversationId).readUpTo(r.seq);
      }
      this.changed();
    });
  }

  private onMessage(m: Message) {
    // A conversation not opened yet takes its messages when it is (`loadLatest`).
    this.threads.get(m.conversationId)?.receive(m);
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
      void this.request('list', { limit: 20 }).then((r) => {
        if (r.ok) this.learn(r.conversations);
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
    const hay = [v.name, v.email, v.phone, displayName(c), c.lastMessage && messageText(c.lastMessage)];
    if (hay.some((h) => h && h.toLowerCase().includes(q))) return true;
    const t = this.threads.get(c.id);
    if (t) for (const m of t.messages) if (messageText(m).toLowerCase().includes(q)) return true;
    return false;
  }
  setFilter(f: Filter) {
    this.filter = f;
    this.changed();
    if (f !== 'all' && this.sorted().length < 20 && this.moreConvs[f]) this.loadMoreConvs();
  }
  loadMoreConvs() {
    if (!this.socket || !this.connected || this.loadingConvs) return;
    const f = this.filter;
    const list = [...this.convs.values()].filter((c) => f === 'all' || c.status === f);
    const oldest = list.reduce<string | null>((o, c) => (o === null || c.updatedAt < o ? c.updatedAt : o), null);
    const req: AgentRequests['list'][0] = { limit: 50 };
    if (oldest) req.before = oldest;
    if (f !== 'all') req.status = f;
    this.loadingConvs = true;
    this.changed();
    void this.request('list', req).then((r) => {
      this.loadingConvs = false;
      if (r.ok) {
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
    const what =
      this.invite !== null ? 'Join your team' : this.reset !== null ? 'Choose a new password' : !this.token ? 'Log in' : TITLES[this.page()];
    document.title = `${n ? `(${n}) ` : ''}${what} — Parlor`;
  }

  // ---------- one conversation ----------
  thread(id: string): Thread {
    let t = this.threads.get(id);
    if (!t) {
      t = new Thread(
        { ack: acker<ThreadRequests>(() => this.socket, { conversationId: id }) },
        {
          // No `retryAfter`: a refused or unanswered reply shows "Not sent" with Retry and Discard.
          own: 'agent',
          onSent: (m) => {
            const c = this.convs.get(id);
            if (c)
              this.convs.set(id, { ...c, lastMessage: m, updatedAt: m.createdAt > c.updatedAt ? m.createdAt : c.updatedAt });
          },
        },
      );
      t.setOnline(this.connected);
      t.subscribe(() => this.changed());
      this.threads.set(id, t);
    }
    return t;
  }
  select(id: string | null) {
    this.selected = id;
    if (id) {
      const t = this.thread(id);
      if (!t.loaded && !t.loading) {
        const c = this.convs.get(id);
        void t.loadLatest((c?.lastMessage?.seq || 0) + 1).then((ok) => ok && this.selected === id && this.markRead(id));
      }
      this.markRead(id);
    }
    this.changed();
  }
  loadOlder(id: string): boolean {
    return this.thread(id).loadOlder();
  }
  markRead(id: string) {
    if (document.hidden || !this.connected) return;
    const c = this.convs.get(id);
    if (c && c.unread) this.convs.set(id, { ...c, unread: 0 });
    this.thread(id).markRead(c?.lastMessage?.seq || 0);
  }
  /** The uploads of the reply being written in conversation `id`. */
  uploads(id: string): Uploads {
    let u = this.files.get(id);
    if (!u) {
      u = new Uploads({
        target: (name) =>
          this.token
            ? { url: `/api/uploads?filename=${encodeURIComponent(name)}&conversationId=${encodeURIComponent(id)}`, bearer: this.token }
            : null,
        onChange: () => this.changed(),
      });
      this.files.set(id, u);
    }
    return u;
  }
  /** Sends the reply with the files uploaded for it; nothing while a file is still uploading
   * (it goes with the message). */
  send(id: string, text: string) {
    const u = this.uploads(id);
    if (u.busy()) return;
    const files = u.take();
    if (!text.trim() && !files.length) return;
    this.typingOff(id);
    this.thread(id).send(text, files);
  }
  retry(id: string, clientId: string) {
    this.thread(id).retry(clientId);
  }
  discard(id: string, clientId: string) {
    this.thread(id).discard(clientId);
  }
  async end(id: string): Promise<string | null> {
    if (!this.socket || !this.connected) return 'Not connected';
    const r = await this.request('end', { conversationId: id });
    if (!r.ok) return r.error.code === 'timeout' ? 'Could not end the chat' : r.error.message;
    if (r.conversation) this.convs.set(id, r.conversation);
    else {
      const c = this.convs.get(id);
      if (c) this.convs.set(id, { ...c, status: 'ended' });
    }
    this.changed();
    return null;
  }

  /** E-mails the conversation to its visitor's address (shown only when there is one). */
  async transcript(id: string): Promise<TranscriptOutcome> {
    const to = this.convs.get(id)?.visitor.email;
    if (!to) return { ok: false, text: 'The visitor has not given an e-mail address.' };
    if (!this.socket || !this.connected) return { ok: false, text: 'Not connected. Try again when the connection is back.' };
    return sendTranscript(this.transcriptRequest, id, to);
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
          body: messageText(m).slice(0, 140),
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
/** A message's text, or for one of files only, what it carries (`report.pdf`, `3 files`). */
export function messageText(m: { text: string; attachments?: Attachment[] }): string {
  const files = m.attachments || [];
  if (m.text || !files.length) return m.text;
  return files.length === 1 ? `📎 ${files[0].name}` : `📎 ${files.length} files`;
}

export function displayName(c: Summary): string {
  const v = c.visitor;
  if (v.name) return v.name;
  if (v.email) return v.email;
  const h = hash(v.id || c.id);
  return `${ADJ[h % 16]} ${ANIMAL[(h >>> 4) % 16]}`;
}

export const store = new Store();
