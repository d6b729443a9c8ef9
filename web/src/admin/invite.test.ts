// The invitation page's logic against a scripted fetch.
import { describe, expect, test } from 'vitest';
import { accept, checkSignUp, inviteToken, lookUp } from './invite';

type Answer = { status: number; body?: unknown } | 'network';
function fetcher(...answers: Answer[]) {
  const calls: { url: string; init?: RequestInit }[] = [];
  const f = (async (url: string, init?: RequestInit) => {
    calls.push({ url, init });
    const a = answers.shift();
    if (!a || a === 'network') throw new TypeError('Failed to fetch');
    return new Response(a.body === undefined ? null : JSON.stringify(a.body), {
      status: a.status,
      headers: { 'content-type': 'application/json' },
    });
  }) as unknown as typeof fetch;
  return { f, calls };
}

const TOKEN = 'q3Xr_-9aZ0bC1dE2fG3hI4jK5lM6nO7pQ8rS9tU0vWx';

describe('inviteToken', () => {
  test('the token of /admin/invite/TOKEN, null elsewhere, empty when malformed', () => {
    expect(inviteToken(`/admin/invite/${TOKEN}`)).toBe(TOKEN);
    expect(inviteToken(`/admin/invite/${TOKEN}/`)).toBe(TOKEN);
    expect(inviteToken('/admin')).toBe(null);
    expect(inviteToken('/admin/team')).toBe(null);
    expect(inviteToken('/admin/invite/')).toBe('');
    expect(inviteToken('/admin/invite/a%2Fb')).toBe('');
    expect(inviteToken('/admin/invite/a/b')).toBe('');
  });
});

describe('checkSignUp', () => {
  const ok = { name: 'Bea', username: 'bea', password: '12345678' };
  test('the server\'s limits, first problem first', () => {
    expect(checkSignUp(ok)).toBe('');
    expect(checkSignUp({ ...ok, name: '   ' })).toBe('Enter your name.');
    expect(checkSignUp({ ...ok, name: 'x'.repeat(101) })).toMatch(/at most 100/);
    // counted in code points, as the server does
    expect(checkSignUp({ ...ok, name: '😀'.repeat(100) })).toBe('');
    expect(checkSignUp({ ...ok, username: '' })).toBe('Choose a username.');
    expect(checkSignUp({ ...ok, username: 'u'.repeat(65) })).toMatch(/at most 64/);
    expect(checkSignUp({ ...ok, username: 'b ea' })).toMatch(/spaces/);
    expect(checkSignUp({ ...ok, password: '1234567' })).toMatch(/at least 8/);
  });
});

describe('lookUp', () => {
  test('200 is a valid invitation', async () => {
    const { f, calls } = fetcher({ status: 200, body: { siteName: 'Juniper & Oak', role: 'admin', expiresAt: '2030-01-08T00:00:00Z' } });
    expect(await lookUp(TOKEN, f)).toEqual({
      state: 'valid',
      info: { siteName: 'Juniper & Oak', role: 'admin', expiresAt: '2030-01-08T00:00:00Z' },
    });
    expect(calls[0]!.url).toBe(`/api/invitations/${TOKEN}`);
  });
  test('404 is gone; an empty token is gone without asking', async () => {
    const { f, calls } = fetcher({ status: 404, body: { error: 'not_found', message: 'not found' } });
    expect(await lookUp(TOKEN, f)).toEqual({ state: 'gone' });
    expect(await lookUp('', f)).toEqual({ state: 'gone' });
    expect(calls.length).toBe(1);
  });
  test('a network failure or another status is an error to retry', async () => {
    const { f } = fetcher('network', { status: 500, body: { error: 'internal', message: 'internal error' } }, { status: 429 });
    expect(await lookUp(TOKEN, f)).toEqual({ state: 'error', message: expect.stringMatching(/Cannot reach the server/) });
    expect(await lookUp(TOKEN, f)).toEqual({ state: 'error', message: expect.stringMatching(/\(500\)/) });
    expect(await lookUp(TOKEN, f)).toEqual({ state: 'error', message: expect.stringMatching(/Too many attempts/) });
  });
});

describe('accept', () => {
  const form = { name: '  Bea Smith ', username: ' bea ', password: ' pass word ' };
  test('posts the trimmed name and username and the password as typed; 200 is a session', async () => {
    const session = { token: 'jwt', agent: { id: 'b', name: 'Bea Smith', siteId: 's', role: 'agent' } };
    const { f, calls } = fetcher({ status: 200, body: session });
    expect(await accept(TOKEN, form, f)).toEqual({ ok: true, session });
    expect(calls[0]!.url).toBe(`/api/invitations/${TOKEN}`);
    expect(calls[0]!.init!.method).toBe('POST');
    expect((calls[0]!.init!.headers as Record<string, string>)['content-type']).toBe('application/json');
    expect(JSON.parse(calls[0]!.init!.body as string)).toEqual({ name: 'Bea Smith', username: 'bea', password: ' pass word ' });
  });
  test('400 shows the server\'s message; 404 says the link is gone', async () => {
    const { f } = fetcher(
      { status: 400, body: { error: 'invalid', message: 'the username is taken' } },
      { status: 404, body: { error: 'not_found', message: 'not found' } },
      { status: 400, body: null },
      { status: 200, body: { nope: 1 } },
    );
    expect(await accept(TOKEN, form, f)).toEqual({ ok: false, message: 'The username is taken.' });
    expect(await accept(TOKEN, form, f)).toEqual({ ok: false, gone: true, message: expect.stringMatching(/used or has expired/) });
    expect(await accept(TOKEN, form, f)).toEqual({ ok: false, message: expect.stringMatching(/\(400\)/) });
    expect(await accept(TOKEN, form, f)).toEqual({ ok: false, message: 'Unexpected answer from the server.' });
  });
});
