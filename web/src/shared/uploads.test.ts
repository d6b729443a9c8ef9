// The composer's uploads against a scripted network: each request waits until the test answers
// it (or reports progress), so every test decides what the server says and when. The real
// XMLHttpRequest and server meet in the browser suite (e2e/files.test.mjs).
import { describe, expect, test } from 'vitest';
import { MAX_FILES, pastedName, uploadError, uploadMessage, Uploads, type Post, type Upload, type UploadOptions } from './uploads';
import { formatSize } from './files';

interface Call {
  url: string;
  bearer: string;
  body: Blob;
  aborted: boolean;
  progress(loaded: number): void;
  answer(status: number, body?: unknown): Promise<void>;
}

function network() {
  const calls: Call[] = [];
  const post: Post = ({ url, bearer, body, onProgress }) => {
    let resolve!: (r: { status: number; body: string }) => void;
    const done = new Promise<{ status: number; body: string }>((r) => (resolve = r));
    const call: Call = {
      url,
      bearer,
      body,
      aborted: false,
      progress: onProgress,
      answer: async (status, b) => {
        resolve({ status, body: typeof b === 'string' ? b : JSON.stringify(b ?? {}) });
        await settle();
      },
    };
    calls.push(call);
    return {
      done,
      abort: () => {
        call.aborted = true;
        resolve({ status: 0, body: '' });
      },
    };
  };
  return { calls, post };
}
const settle = () => new Promise<void>((r) => setTimeout(r, 0));

const file = (name: string, size = 100, type = 'application/octet-stream') => new File([new Uint8Array(size)], name, { type });
const uploaded = (id: string, name: string, size = 100) => ({
  id,
  name,
  size,
  contentType: 'application/pdf',
  url: `/api/uploads/${id}?exp=1&sig=s`,
});

function uploads(options: Partial<UploadOptions> = {}) {
  const net = network();
  let changes = 0;
  const u = new Uploads({
    target: (name) => ({ url: `/api/uploads?filename=${encodeURIComponent(name)}`, bearer: 'tok' }),
    onChange: () => changes++,
    post: net.post,
    ...options,
  });
  return { u, net, changes: () => changes };
}
const states = (u: Uploads) => u.items.map((x) => [x.name, x.state, x.error]);

describe('uploading', () => {
  test('a file uploads at once with the bearer, reports its progress, and is taken by the message', async () => {
    const { u, net, changes } = uploads();
    const f = file('report.pdf', 1000);
    u.add([f]);
    expect(net.calls.map((c) => [c.url, c.bearer])).toEqual([['/api/uploads?filename=report.pdf', 'tok']]);
    expect(net.calls[0].body).toBe(f);
    expect(u.busy()).toBe(true);
    const before = changes();
    net.calls[0].progress(400);
    expect(u.items[0].loaded).toBe(400);
    expect(changes()).toBe(before + 1);
    await net.calls[0].answer(201, uploaded('u_1', 'report.pdf', 1000));
    expect(states(u)).toEqual([['report.pdf', 'done', undefined]]);
    expect(u.busy()).toBe(false);
    expect(u.take()).toEqual([uploaded('u_1', 'report.pdf', 1000)]);
    expect(u.items).toEqual([]);
    expect(u.take()).toEqual([]);
  });

  test('three upload at a time; the next starts when one ends', async () => {
    const { u, net } = uploads();
    u.add([file('a'), file('b'), file('c'), file('d')]);
    expect(net.calls.map((c) => c.url)).toEqual(['a', 'b', 'c'].map((n) => `/api/uploads?filename=${n}`));
    expect(u.items[3].state).toBe('queued');
    await net.calls[1].answer(201, uploaded('u_b', 'b'));
    expect(net.calls.length).toBe(4);
    expect(net.calls[3].url).toBe('/api/uploads?filename=d');
  });

  test('with nowhere to upload to yet, files wait for pump', () => {
    let ready = false;
    const { u, net } = uploads({ target: (name) => (ready ? { url: name, bearer: 'later' } : null) });
    u.add([file('early.png')]);
    expect(net.calls).toEqual([]);
    expect(u.items[0].state).toBe('queued');
    ready = true;
    u.pump();
    expect(net.calls.map((c) => [c.url, c.bearer])).toEqual([['early.png', 'later']]);
  });

  test('take leaves refused and failed files in the composer, and files still uploading', async () => {
    const { u, net } = uploads();
    u.add([file('ok'), file('bad'), file('slow')]);
    await net.calls[0].answer(201, uploaded('u_ok', 'ok'));
    await net.calls[1].answer(415, { error: 'unsupported_type', message: 'x' });
    expect(u.take().map((a) => a.id)).toEqual(['u_ok']);
    expect(states(u)).toEqual([
      ['bad', 'refused', 'unsupported_type'],
      ['slow', 'uploading', undefined],
    ]);
  });

  test('removing a file aborts its upload, and its late answer changes nothing', async () => {
    const { u, net } = uploads();
    u.add([file('gone')]);
    u.remove(u.items[0].key);
    expect(net.calls[0].aborted).toBe(true);
    await settle();
    expect(u.items).toEqual([]);
    expect(u.busy()).toBe(false);
  });

  test('clear drops every file and aborts the uploads running', async () => {
    const { u, net } = uploads();
    u.add([file('a'), file('b'), file('c'), file('d'), file('e')]);
    await net.calls[0].answer(201, uploaded('u_a', 'a'));
    u.clear();
    // d was running; e, queued, never starts
    expect(net.calls.map((c) => c.aborted)).toEqual([false, true, true, true]);
    await settle();
    expect([u.items, u.busy(), net.calls.length]).toEqual([[], false, 4]);
  });
});

describe('refusals and failures', () => {
  test('a file too large is refused, and says the limit when the server told it', async () => {
    const { u, net } = uploads();
    u.add([file('big.zip')]);
    await net.calls[0].answer(413, { error: 'too_large', message: 'too large' });
    expect(states(u)).toEqual([['big.zip', 'refused', 'too_large']]);
    // refused: no retry
    u.retry(u.items[0].key);
    expect(net.calls.length).toBe(1);
    // the limit, as the server names it
    u.add([file('bigger.zip')]);
    await net.calls[1].answer(413, { error: 'too_large', message: 'files may be at most 10485760 bytes', maxBytes: 10485760 });
    expect(u.items[1]).toMatchObject({ state: 'refused', error: 'too_large', limit: 10485760 });
    u.add([file('quota.zip')]);
    await net.calls[2].answer(413, { error: 'too_large', message: "this conversation's files are over 100 MiB in all" });
    expect(u.items[2]).toMatchObject({ state: 'refused', error: 'too_large', limit: undefined });
    const limited = uploads({ maxBytes: 1024 });
    limited.u.add([file('big.zip', 2048), file('small.txt', 10)]);
    // over a known limit, it is not even sent
    expect(limited.net.calls.map((c) => c.url)).toEqual(['/api/uploads?filename=small.txt']);
    expect(limited.u.items[0]).toMatchObject({ state: 'refused', error: 'too_large', limit: 1024 });
  });

  test('empty files and files past ten per message are refused without uploading', () => {
    const { u, net } = uploads();
    u.add([file('empty.txt', 0)]);
    u.add(Array.from({ length: MAX_FILES + 1 }, (_, i) => file(`f${i}`)));
    expect(u.items[0]).toMatchObject({ state: 'refused', error: 'empty' });
    expect(u.items[MAX_FILES + 1]).toMatchObject({ name: `f${MAX_FILES}`, state: 'refused', error: 'too_many' });
    expect(u.items.filter((x) => x.state !== 'refused').length).toBe(MAX_FILES);
    expect(net.calls.length).toBe(3);
  });

  test('a network error or a server error fails the file; retry uploads the same File again', async () => {
    const { u, net } = uploads();
    const f = file('photo.jpg', 500);
    u.add([f]);
    net.calls[0].progress(250);
    await net.calls[0].answer(0, '');
    expect(u.items[0]).toMatchObject({ state: 'failed', error: 'failed' });
    expect(u.busy()).toBe(false);
    u.retry(u.items[0].key);
    expect(u.items[0]).toMatchObject({ state: 'uploading', loaded: 0, error: undefined });
    expect(net.calls[1].body).toBe(f);
    await net.calls[1].answer(502, '<html>Bad gateway</html>');
    expect(u.items[0].state).toBe('failed');
    u.retry(u.items[0].key);
    await net.calls[2].answer(201, uploaded('u_p', 'photo.jpg', 500));
    expect(u.items[0].state).toBe('done');
    expect(u.take().map((a) => a.id)).toEqual(['u_p']);
  });

  test('too many uploads at once is a failure to retry later', async () => {
    const { u, net } = uploads();
    u.add([file('x')]);
    await net.calls[0].answer(429, { error: 'rate_limited', message: 'slow down' });
    expect(u.items[0]).toMatchObject({ state: 'failed', error: 'rate_limited' });
  });

  test('answers map to errors by status and code', () => {
    expect(uploadError(413)).toBe('too_large');
    expect(uploadError(400, 'too_large')).toBe('too_large');
    expect(uploadError(415, 'unsupported_type')).toBe('unsupported_type');
    expect(uploadError(429, 'rate_limited')).toBe('rate_limited');
    expect(uploadError(400, 'invalid')).toBe('empty');
    for (const s of [0, 401, 404, 408, 500, 503]) expect(uploadError(s), String(s)).toBe('failed');
  });

  test('each error has its message for the user, the limit in it when known', () => {
    const t = {
      fileTooLarge: (limit: string) => (limit ? `Too large (max ${limit})` : 'Too large'),
      fileType: 'Type not allowed',
      fileEmpty: 'Empty',
      fileTooMany: (n: number) => `At most ${n}`,
      fileRateLimited: 'Later',
      fileFailed: 'Failed',
    };
    const msg = (x: Partial<Upload>) => uploadMessage(x as Upload, t, (n) => formatSize(n, 'en'));
    expect(msg({ error: 'too_large' })).toBe('Too large');
    expect(msg({ error: 'too_large', limit: 10 * 1024 * 1024 })).toBe('Too large (max 10 MB)');
    expect(msg({ error: 'unsupported_type' })).toBe('Type not allowed');
    expect(msg({ error: 'too_many' })).toBe('At most 10');
    expect(msg({ error: 'failed' })).toBe('Failed');
    expect(msg({})).toBe('');
  });
});

describe('pasted files', () => {
  test('a pasted image named by the browser becomes a screenshot; other names stay', () => {
    expect(pastedName(new File([new Uint8Array(1)], 'image.png', { type: 'image/png' }))).toBe('screenshot.png');
    expect(pastedName(new File([new Uint8Array(1)], '', { type: 'image/jpeg' }))).toBe('screenshot.jpg');
    expect(pastedName(new File([new Uint8Array(1)], 'holiday.png', { type: 'image/png' }))).toBe('holiday.png');
    expect(pastedName(new File([new Uint8Array(1)], 'notes.txt', { type: 'text/plain' }))).toBe('notes.txt');
  });
});
