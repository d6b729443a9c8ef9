// The thread model against a scripted network: each request waits until the test answers it,
// so every test decides what the server says and when. The real client and server meet in the
// browser suite (e2e/).
import { afterEach, describe, expect, test, vi } from 'vitest';
import { Thread, type ThreadOptions } from './thread';
import type { AckError, AckResult, Attachment, Message, Sender, ThreadRequests } from './types';

type Event = keyof ThreadRequests;
interface Call {
  event: Event;
  payload: any;
  answer(r: AckResult<any>): Promise<void>;
}

/** A network whose requests stay open until `answer`ed. */
function network() {
  const calls: Call[] = [];
  const transport = {
    ack: ((event: Event, payload: unknown) =>
      new Promise((resolve) => {
        calls.push({
          event,
          payload,
          answer: async (r) => {
            resolve(r);
            await settle();
          },
        });
      })) as any,
  };
  /** The requests not answered yet, of one event. */
  const open = (event: Event) => calls.filter((c) => c.event === event);
  return { transport, calls, open };
}

/** Lets the thread's promise callbacks run. */
const settle = () => new Promise<void>((r) => setTimeout(r, 0));

function message(seq: number, sender: Sender = 'agent', clientId: string | null = null): Message {
  return {
    id: `m${seq}`,
    conversationId: 'c1',
    seq,
    sender,
    agentName: sender === 'agent' ? 'Anna' : null,
    text: `text ${seq}`,
    clientId,
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
  };
}
const attachment = (id: string, name: string): Attachment => ({
  id,
  name,
  size: 1234,
  contentType: name.endsWith('.png') ? 'image/png' : 'application/pdf',
  url: `/api/uploads/${id}?exp=1&sig=x`,
});
const range = (from: number, to: number, sender: Sender = 'agent') =>
  Array.from({ length: to - from + 1 }, (_, i) => message(from + i, sender));
const seqs = (t: Thread) => t.messages.map((m) => m.seq);
const page = (messages: Message[], hasMore = false) => ({ ok: true as const, messages, hasMore });
const refused = (code: string): AckResult<never> => ({ ok: false, error: { code, message: `refused: ${code}` } });

/** A visitor's thread, online, holding `held` as its latest page. */
function thread(held: Message[] = [], options: Partial<ThreadOptions> = {}) {
  const net = network();
  const t = new Thread(net.transport, { own: 'visitor', ...options });
  t.setOnline(true);
  t.latest({ messages: held, hasMore: false });
  net.calls.length = 0;
  let changes = 0;
  t.subscribe(() => changes++);
  return { t, net, changes: () => changes };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('taking messages', () => {
  test('messages are kept in seq order whatever order they arrive in', async () => {
    const { t, net } = thread([message(1)]);
    t.receive(message(4));
    t.receive(message(3));
    t.receive(message(2));
    expect(seqs(t)).toEqual([1, 2, 3, 4]);
    await net.open('sync')[0].answer(page([message(2), message(3), message(4)]));
    expect(seqs(t)).toEqual([1, 2, 3, 4]);
  });

  test('a duplicate event is ignored', () => {
    const { t, net, changes } = thread(range(1, 3));
    t.receive(message(3));
    t.receive({ ...message(2), text: 'the same id again' });
    expect(seqs(t)).toEqual([1, 2, 3]);
    expect(t.messages[1].text).toBe('text 2');
    expect(changes()).toBe(0);
    expect(net.calls).toEqual([]);
  });

  test('a live message is left to the latest page until that page is here', () => {
    const net = network();
    const t = new Thread(net.transport, { own: 'agent' });
    t.setOnline(true);
    t.receive(message(7));
    expect(t.messages).toEqual([]);
    t.latest({ messages: range(5, 8), hasMore: true });
    expect(seqs(t)).toEqual([5, 6, 7, 8]);
    expect(t.hasMore).toBe(true);
  });

  test('reset forgets messages and read markers but keeps pending messages', () => {
    const { t } = thread(range(1, 2));
    t.setOnline(false);
    t.send('still to send');
    t.readUpTo(2);
    t.peerReadUpTo(1);
    t.reset();
    expect(t.messages).toEqual([]);
    expect([t.read, t.peerRead, t.loaded]).toEqual([0, 0, false]);
    expect(t.pending.map((p) => p.text)).toEqual(['still to send']);
  });
});

describe('gaps and sync', () => {
  test('a message with a seq gap triggers a sync from the last contiguous seq', () => {
    const { t, net } = thread(range(1, 3));
    t.receive(message(6));
    expect(net.calls.map((c) => [c.event, c.payload])).toEqual([['sync', { afterSeq: 3 }]]);
    expect(t.highest()).toBe(3);
    expect(t.lastSeq()).toBe(6);
  });

  test('the next message in seq order triggers no sync', () => {
    const { t, net } = thread(range(1, 3));
    t.receive(message(4));
    expect(net.calls).toEqual([]);
  });

  test('a sync follows hasMore from the last seq of each page until the gap is filled', async () => {
    const { t, net } = thread(range(1, 3));
    t.receive(message(9));
    await net.calls[0].answer(page(range(4, 6), true));
    expect(net.calls[1].payload).toEqual({ afterSeq: 6 });
    await net.calls[1].answer(page(range(7, 9), false));
    expect(net.calls.length).toBe(2);
    expect(seqs(t)).toEqual(range(1, 9).map((m) => m.seq));
    expect(t.highest()).toBe(9);
  });

  test('a gap found while a sync runs is fetched when that sync ends, not by a second one at once', async () => {
    const { t, net } = thread(range(1, 3));
    t.receive(message(5));
    t.receive(message(8));
    expect(net.open('sync').length).toBe(1);
    await net.calls[0].answer(page([message(4), message(5)]));
    expect(net.calls.length).toBe(2);
    expect(net.calls[1].payload).toEqual({ afterSeq: 5 });
    await net.calls[1].answer(page(range(6, 8)));
    expect(t.highest()).toBe(8);
    expect(net.calls.length).toBe(2);
  });

  test('a refused sync ends the loop; the next catch-up starts afresh', async () => {
    const { t, net } = thread(range(1, 2));
    t.receive(message(4));
    await net.calls[0].answer(refused('rate_limited'));
    expect(net.calls.length).toBe(1);
    void t.catchUp();
    expect(net.calls[1].payload).toEqual({ afterSeq: 2 });
  });

  test('a sync cut off by a disconnect is given up; catching up after the reconnect asks again', async () => {
    const { t, net } = thread(range(1, 2));
    t.receive(message(4));
    t.setOnline(false);
    t.setOnline(true);
    void t.catchUp();
    expect(net.open('sync').length).toBe(2);
    await net.calls[0].answer(page([message(3)]));
    expect(seqs(t)).toEqual([1, 2, 4]); // the old loop's answer is not taken
    await net.calls[1].answer(page([message(3), message(4)]));
    expect(seqs(t)).toEqual([1, 2, 3, 4]);
  });
});

describe('history', () => {
  test('history pages merge without duplicates', async () => {
    const net = network();
    const t = new Thread(net.transport, { own: 'visitor' });
    t.setOnline(true);
    t.latest({ messages: range(51, 100), hasMore: true });
    expect(t.loadOlder()).toBe(true);
    expect(net.calls[0].payload).toEqual({ beforeSeq: 51, limit: 50 });
    expect(t.loading).toBe(true);
    // an overlapping page (a message the page and the session both carry) keeps one copy
    await net.calls[0].answer(page(range(1, 51), false));
    expect(seqs(t)).toEqual(range(1, 100).map((m) => m.seq));
    expect(new Set(t.messages.map((m) => m.id)).size).toBe(100);
    expect([t.loading, t.hasMore]).toEqual([false, false]);
  });

  test('older messages are not asked for when none exist or a page is on its way', async () => {
    const { t, net } = thread(range(1, 5));
    expect(t.loadOlder()).toBe(false);
    t.latest({ messages: range(1, 5), hasMore: true });
    expect(t.loadOlder()).toBe(true);
    expect(t.loadOlder()).toBe(false);
    expect(net.calls.length).toBe(1);
  });

  test('loading the latest page takes it, then syncs from its last seq', async () => {
    const net = network();
    const t = new Thread(net.transport, { own: 'agent' });
    t.setOnline(true);
    const loaded = t.loadLatest(81);
    expect(net.calls[0].payload).toEqual({ beforeSeq: 81, limit: 50 });
    await net.calls[0].answer(page(range(31, 80), true));
    expect(await loaded).toBe(true);
    expect([t.loaded, t.hasMore, t.highest()]).toEqual([true, true, 80]);
    expect(net.calls[1].event).toBe('sync');
    expect(net.calls[1].payload).toEqual({ afterSeq: 80 });
  });

  test("a newer latest page keeps hasMore from the older messages already held", () => {
    const { t } = thread(range(1, 10)); // hasMore: false, nothing older than seq 1
    t.latest({ messages: range(61, 110), hasMore: true });
    expect(t.hasMore).toBe(false);
    expect(t.highest()).toBe(10);
  });
});

describe('sending', () => {
  test('one send is in flight at a time, in the order written', async () => {
    const { t, net } = thread();
    const a = t.send('first')!;
    const b = t.send('second')!;
    expect(net.open('send').map((c) => c.payload)).toEqual([{ clientId: a.clientId, text: 'first' }]);
    await net.calls[0].answer({ ok: true, message: message(1, 'visitor', a.clientId) });
    expect(net.calls[1].payload).toEqual({ clientId: b.clientId, text: 'second' });
    expect(t.pending.map((p) => p.text)).toEqual(['second']);
    expect(seqs(t)).toEqual([1]);
  });

  test('a blank message is not sent', () => {
    const { t, net } = thread();
    expect(t.send('  \n ')).toBeUndefined();
    expect([t.pending, net.calls]).toEqual([[], []]);
  });

  test('a message may carry attachments, sent as their ids, with or without text', async () => {
    const { t, net } = thread();
    const shot = attachment('u_1', 'screenshot.png');
    const doc = attachment('u_2', 'invoice.pdf');
    const a = t.send('  ', [shot, doc])!;
    expect(a.text).toBe('');
    expect(a.attachments).toEqual([shot, doc]);
    expect(net.calls[0].payload).toEqual({ clientId: a.clientId, text: '', attachments: ['u_1', 'u_2'] });
    // the retry of a refused send carries the same attachments under the same clientId
    await net.calls[0].answer(refused('internal'));
    t.retry(a.clientId);
    expect(net.calls[1].payload).toEqual(net.calls[0].payload);
    await net.calls[1].answer({ ok: true, message: { ...message(1, 'visitor', a.clientId), text: '', attachments: [shot, doc] } });
    expect(t.pending).toEqual([]);
    expect(t.messages[0].attachments).toEqual([shot, doc]);
    // and kept across a reload, the queued message goes with them
    const again = thread();
    again.t.restore([JSON.parse(JSON.stringify({ ...a, failed: undefined }))]);
    expect(again.net.calls[0].payload).toEqual({ clientId: a.clientId, text: '', attachments: ['u_1', 'u_2'] });
  });

  test('a failed ack marks the message failed with its code, and the next one goes', async () => {
    const { t, net } = thread();
    const a = t.send('too much')!;
    t.send('fine');
    await net.calls[0].answer(refused('invalid'));
    expect(t.pending[0].failed).toEqual<AckError>({ code: 'invalid', message: 'refused: invalid' });
    expect(net.calls[1].payload.text).toBe('fine');
    t.retry(a.clientId); // waits: one is in flight
    expect(net.calls.length).toBe(2);
    expect(t.pending[0].failed).toBeUndefined();
  });

  test('an error the options call transient sends the same message again after the delay', async () => {
    vi.useFakeTimers();
    const { t, net } = thread([], { retryAfter: (e) => (e.code === 'rate_limited' ? 3000 : undefined) });
    const a = t.send('hello')!;
    net.calls[0].answer(refused('rate_limited'));
    await vi.advanceTimersByTimeAsync(2999);
    expect(net.calls.length).toBe(1);
    expect(t.pending[0].failed).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(net.calls[1].payload).toEqual({ clientId: a.clientId, text: 'hello' });
  });

  test('a send unanswered before a disconnect goes again with the same clientId after the reconnect', async () => {
    const { t, net } = thread();
    const a = t.send('across a reconnect')!;
    t.setOnline(false);
    t.setOnline(true);
    expect(net.calls.map((c) => c.payload.clientId)).toEqual([a.clientId, a.clientId]);
    // the first attempt's answer never counts: that request is gone
    await net.calls[0].answer(refused('timeout'));
    expect(t.pending[0].failed).toBeUndefined();
    await net.calls[1].answer({ ok: true, message: message(1, 'visitor', a.clientId) });
    expect(t.pending).toEqual([]);
    expect(seqs(t)).toEqual([1]);
  });

  test('nothing is sent while offline; coming online sends the queue', () => {
    const net = network();
    const t = new Thread(net.transport, { own: 'visitor' });
    t.send('queued');
    expect(net.calls).toEqual([]);
    t.setOnline(true);
    expect(net.open('send').map((c) => c.payload.text)).toEqual(['queued']);
  });

  test('our own message arriving another way settles its pending copy', () => {
    const { t } = thread();
    t.setOnline(false);
    const a = t.send('from this tab')!;
    t.receive(message(1, 'visitor', a.clientId));
    expect(t.pending).toEqual([]);
    // the other side's message with the same clientId settles nothing of ours
    const b = t.send('another')!;
    t.receive(message(2, 'agent', b.clientId));
    expect(t.pending.map((p) => p.clientId)).toEqual([b.clientId]);
  });

  test('the stored message is handed to onSent', async () => {
    const sent: Message[] = [];
    const { t, net } = thread([], { own: 'agent', onSent: (m) => sent.push(m) });
    const a = t.send('reply')!;
    await net.calls[0].answer({ ok: true, message: message(1, 'agent', a.clientId) });
    expect(sent.map((m) => m.seq)).toEqual([1]);
  });

  test('restored messages are queued once each, in their order', () => {
    const { t, net } = thread();
    t.setOnline(false);
    const saved = [
      { clientId: 'a', text: 'one', createdAt: '2026-01-01T00:00:00.000Z' },
      { clientId: 'b', text: 'two', createdAt: '2026-01-01T00:00:01.000Z' },
    ];
    t.restore(saved);
    t.restore(saved);
    expect(t.pending.map((p) => p.clientId)).toEqual(['a', 'b']);
    t.setOnline(true);
    expect(net.open('send').map((c) => c.payload.clientId)).toEqual(['a']);
  });

  test('discarding a failed message drops it', async () => {
    const { t, net } = thread();
    const a = t.send('no')!;
    await net.calls[0].answer(refused('invalid'));
    t.discard(a.clientId);
    expect(t.pending).toEqual([]);
  });
});

describe('read markers', () => {
  test("marking read raises the marker to the other side's newest message and tells the server once", () => {
    const { t, net } = thread([message(1, 'agent'), message(2, 'agent'), message(3, 'visitor')]);
    expect(t.unread()).toBe(2);
    expect(t.markRead()).toBe(true);
    expect(net.calls.map((c) => [c.event, c.payload])).toEqual([['read', { seq: 2 }]]);
    expect([t.read, t.unread()]).toEqual([2, 0]);
    expect(t.markRead()).toBe(false);
    expect(net.calls.length).toBe(1);
  });

  test('marking read up to a seq known from elsewhere goes beyond the messages held', () => {
    const { t, net } = thread([message(1, 'visitor')], { own: 'agent' });
    expect(t.markRead(7)).toBe(true);
    expect(net.calls[0].payload).toEqual({ seq: 7 });
  });

  test('markers only go up', () => {
    const { t, changes } = thread();
    t.readUpTo(5);
    t.readUpTo(3);
    t.peerReadUpTo(4);
    t.peerReadUpTo(2);
    expect([t.read, t.peerRead, changes()]).toEqual([5, 4, 2]);
  });

  test('nothing is marked read while offline', () => {
    const { t, net } = thread([message(1)]);
    t.setOnline(false);
    expect(t.markRead()).toBe(false);
    expect([t.read, net.calls.length]).toEqual([0, 0]);
  });
});
