// One conversation as a client holds it, for the widget (the visitor's own conversation) and the
// dashboard (one per conversation an agent opened): the messages, each once and in `seq` order;
// what this side wrote and the server has not stored yet; the read markers of both sides; and
// the protocol rules that keep them whole (PROTOCOL.md, docs/protocol.md "Messages"):
//
// - a live message whose `seq` skips one reveals a lost event: `sync` from the highest `seq`
//   held without a gap, page by page while `hasMore`;
// - `history` pages older messages in before the first one held;
// - pending messages go out one at a time, in the order written, each with its own `clientId`
//   and the same one on every retry, so the server stores each exactly once;
// - a message of ours that arrives any way (ack, `sync`, another tab) settles its pending copy.
//
// It knows no DOM, framework or socket: requests go through a `ThreadTransport`, and the UI
// re-renders when `subscribe`d listeners are called.
import type { Ack } from './ack';
import { uid, type AckError, type Attachment, type Message, type Page, type ThreadRequests } from './types';

export interface ThreadTransport {
  ack: Ack<ThreadRequests>;
}

export interface Pending {
  clientId: string;
  text: string;
  /** The uploaded files it carries (sent as their ids). */
  attachments?: Attachment[];
  createdAt: string;
  /** Why the server refused it; it waits for `retry` or `discard`. */
  failed?: AckError;
}

export interface ThreadOptions {
  /** The side this client writes as; its messages settle pending ones by `clientId`. */
  own: 'visitor' | 'agent';
  /** Milliseconds before sending a refused or unanswered message again; `undefined` marks it
   * failed instead. By default every error marks it failed. */
  retryAfter?: (error: AckError) => number | undefined;
  /** Called with each message of ours the server acknowledged as stored. */
  onSent?: (m: Message) => void;
}

/** Messages asked for per `history` page. */
const PAGE = 50;

export class Thread {
  /** Ascending by `seq`, each message once. */
  messages: Message[] = [];
  /** Written here, not yet stored, in the order written; at most one is in flight. */
  pending: Pending[] = [];
  /** The latest messages are here (a session, or the first page), so live ones can be taken. */
  loaded = false;
  /** The server holds messages older than the first one here. */
  hasMore = false;
  /** A `history` request is in flight. */
  loading = false;
  /** This side's read marker: the other side's messages up to it have been read. */
  read = 0;
  /** The other side's read marker, as the server last told. */
  peerRead = 0;

  private online = false;
  private sending = false;
  /** Bumped when the connection goes: an answer to an earlier request will not come. */
  private gen = 0;
  private syncing: Promise<void> | null = null;
  private syncAgain = false;
  private listeners = new Set<() => void>();

  constructor(
    private transport: ThreadTransport,
    private options: ThreadOptions,
  ) {}

  subscribe(f: () => void): () => void {
    this.listeners.add(f);
    return () => void this.listeners.delete(f);
  }
  private changed() {
    this.listeners.forEach((f) => f());
  }

  /** The highest `seq` held with none missing from the first one held up to it; 0 when empty. */
  highest(): number {
    const m = this.messages;
    if (!m.length) return 0;
    let h = m[0].seq;
    for (let i = 1; i < m.length && m[i].seq === h + 1; i++) h++;
    return h;
  }
  /** The highest `seq` held, 0 when empty. */
  lastSeq(): number {
    const m = this.messages;
    return m.length ? m[m.length - 1].seq : 0;
  }
  /** Messages of the other side after this side's read marker. */
  unread(): number {
    let n = 0;
    for (const m of this.messages) if (m.sender !== this.options.own && m.seq > this.read) n++;
    return n;
  }

  // ---- taking messages ----

  /** Inserts each new message in `seq` order; false when every one was held already. A `seq`
   * names one message of the conversation, so a held `seq` is a duplicate (same `id`). */
  private take(list: Message[]): boolean {
    let added = false;
    const held = this.messages;
    for (const m of list) {
      if (!m || typeof m.seq !== 'number') continue;
      let lo = 0;
      let hi = held.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (held[mid].seq < m.seq) lo = mid + 1;
        else hi = mid;
      }
      if (lo < held.length && held[lo].seq === m.seq) continue;
      held.splice(lo, 0, m);
      added = true;
      if (m.sender === this.options.own && m.clientId) this.settle(m.clientId);
    }
    return added;
  }
  private settle(clientId: string) {
    this.pending = this.pending.filter((p) => p.clientId !== clientId);
  }

  /** Takes the latest messages (a visitor's `session`, an agent's first `history` page); from
   * now on live messages are taken. Does not catch up: call `catchUp` when something may lie
   * between what was held and this page (a reconnect). */
  latest(page: Page) {
    const first = this.messages[0];
    // The page's `hasMore` tells about older messages only when it reaches as far back as we do.
    if (!first || (page.messages.length > 0 && page.messages[0].seq <= first.seq)) this.hasMore = !!page.hasMore;
    this.loaded = true;
    this.take(page.messages);
    this.changed();
  }

  /** A live `message` event. Before the latest page is here it is left to that page. */
  receive(m: Message) {
    if (!this.loaded) return;
    const highest = this.highest();
    if (!this.take([m])) return; // a duplicate: the ack, a sync or a repeated broadcast had it
    this.changed();
    // A skipped seq means a live event was lost (a full queue, a cluster node): fetch the gap.
    if (this.online && m.seq > highest + 1) void this.catchUp();
  }

  /** Forgets messages and markers (another identity, another conversation); pending messages
   * stay and go to the new one. */
  reset() {
    this.messages = [];
    this.loaded = this.hasMore = false;
    this.read = this.peerRead = 0;
    this.changed();
  }

  // ---- requests ----

  /** Whether requests can be made. Going offline gives up the requests in flight (their acks
   * will not come; a send goes again with the same `clientId`); coming online sends what waits. */
  setOnline(on: boolean) {
    this.online = on;
    if (on) return this.flush();
    this.gen++;
    this.sending = this.loading = this.syncAgain = false;
    this.syncing = null;
  }

  /** Fetches everything after `highest()`, page by page while `hasMore`, then sends what waits.
   * One loop at a time: a call while one runs makes it go on once more from where it ends. */
  catchUp(): Promise<void> {
    if (this.syncing) {
      this.syncAgain = true;
      return this.syncing;
    }
    const loop: Promise<void> = this.syncLoop().finally(() => {
      if (this.syncing === loop) this.syncing = null;
    });
    return (this.syncing = loop);
  }
  private async syncLoop() {
    const gen = this.gen;
    let after = this.highest();
    for (;;) {
      const r = await this.transport.ack('sync', { afterSeq: after });
      if (gen !== this.gen) return;
      // Refused or unanswered: the next reconnect or gap tries again.
      if (!r.ok) return void (this.syncAgain = false);
      if (this.take(r.messages)) this.changed();
      const last = r.messages[r.messages.length - 1];
      if (r.hasMore && last && last.seq > after) after = last.seq;
      else if (this.syncAgain) {
        this.syncAgain = false;
        after = this.highest();
      } else break;
    }
    this.flush();
  }

  /** Asks for the latest page before `beforeSeq` (past the last message is fine), takes it as
   * `latest` and catches up with what came meanwhile. Resolves to whether it got the page. */
  async loadLatest(beforeSeq: number): Promise<boolean> {
    if (this.loading || !this.online) return false;
    const gen = this.gen;
    this.loading = true;
    this.changed();
    const r = await this.transport.ack('history', { beforeSeq, limit: PAGE });
    if (gen !== this.gen) return false;
    this.loading = false;
    if (!r.ok) {
      this.changed();
      return false;
    }
    this.latest(r);
    void this.catchUp();
    return true;
  }

  /** Asks for the page before the first message held; false when there is nothing to ask
   * (none older, a page already on its way, offline). */
  loadOlder(): boolean {
    const first = this.messages[0];
    if (!first || !this.hasMore || this.loading || !this.online) return false;
    const gen = this.gen;
    this.loading = true;
    this.changed();
    void this.transport.ack('history', { beforeSeq: first.seq, limit: PAGE }).then((r) => {
      if (gen !== this.gen) return;
      this.loading = false;
      if (r.ok) {
        this.hasMore = !!r.hasMore;
        this.take(r.messages);
      }
      this.changed();
    });
    return true;
  }

  // ---- sending ----

  /** Queues a message (trimmed; blank without attachments is ignored) and sends it when its
   * turn comes. */
  send(text: string, attachments: Attachment[] = []): Pending | undefined {
    text = text.trim();
    if (!text && !attachments.length) return;
    const p: Pending = { clientId: uid(), text, createdAt: new Date().toISOString() };
    if (attachments.length) p.attachments = attachments;
    this.pending.push(p);
    this.changed();
    this.flush();
    return p;
  }
  /** Queues messages written earlier and kept (e.g. across a reload), in their order, skipping
   * any already queued. */
  restore(saved: Pending[]) {
    for (const p of saved) if (!this.pending.some((x) => x.clientId === p.clientId)) this.pending.push(p);
    this.changed();
    this.flush();
  }
  retry(clientId: string) {
    const p = this.pending.find((x) => x.clientId === clientId);
    if (p) p.failed = undefined;
    this.changed();
    this.flush();
  }
  discard(clientId: string) {
    this.settle(clientId);
    this.changed();
  }

  /** Sends the first pending message not marked failed, unless one is in flight. */
  private flush() {
    if (this.sending || !this.online) return;
    const p = this.pending.find((x) => !x.failed);
    if (!p) return;
    const gen = this.gen;
    this.sending = true;
    const payload: ThreadRequests['send'][0] = { clientId: p.clientId, text: p.text };
    if (p.attachments && p.attachments.length) payload.attachments = p.attachments.map((a) => a.id);
    void this.transport.ack('send', payload).then((r) => {
      if (gen !== this.gen) return;
      this.sending = false;
      if (r.ok) {
        this.take([r.message]);
        this.settle(p.clientId);
        if (this.options.onSent) this.options.onSent(r.message);
      } else {
        const wait = this.options.retryAfter && this.options.retryAfter(r.error);
        if (wait !== undefined) {
          setTimeout(() => this.flush(), wait);
          return;
        }
        p.failed = r.error;
      }
      this.changed();
      this.flush();
    });
  }

  // ---- read markers ----

  /** Raises this side's marker to the newest message of the other side held (or `atLeast`,
   * when more is known than held) and tells the server; false when that raises nothing. */
  markRead(atLeast = 0): boolean {
    if (!this.online) return false;
    let seq = atLeast;
    for (let i = this.messages.length - 1; i >= 0; i--) {
      const m = this.messages[i];
      if (m.sender !== this.options.own) {
        seq = Math.max(seq, m.seq);
        break;
      }
    }
    if (seq <= this.read) return false;
    this.read = seq;
    void this.transport.ack('read', { seq });
    this.changed();
    return true;
  }
  /** Raises this side's marker to what another tab or agent read; tells no one. */
  readUpTo(seq: number) {
    if (seq <= this.read) return;
    this.read = seq;
    this.changed();
  }
  /** Raises the other side's marker (a `read` event). */
  peerReadUpTo(seq: number) {
    if (seq <= this.peerRead) return;
    this.peerRead = seq;
    this.changed();
  }
}
