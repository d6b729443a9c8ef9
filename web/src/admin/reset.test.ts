// The password-reset page's logic and the Profile page's checks, against a scripted fetch.
import { describe, expect, test } from 'vitest';
import { checkReset, completeReset, lookUpReset, resetToken } from './reset';
import { checkPasswordForm, nameProblem, passwordProblem, profileRefusal } from './profile';

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

const TOKEN = 'r3Xr_-9aZ0bC1dE2fG3hI4jK5lM6nO7pQ8rS9tU0vWx';

describe('resetToken', () => {
  test('the token of /admin/reset/TOKEN, null elsewhere, empty when malformed', () => {
    expect(resetToken(`/admin/reset/${TOKEN}`)).toBe(TOKEN);
    expect(resetToken(`/admin/reset/${TOKEN}/`)).toBe(TOKEN);
    expect(resetToken('/admin')).toBe(null);
    expect(resetToken(`/admin/invite/${TOKEN}`)).toBe(null);
    expect(resetToken('/admin/reset/')).toBe('');
    expect(resetToken('/admin/reset/a/b')).toBe('');
  });
});

describe('lookUpReset', () => {
  test('200 shows whose password the link sets', async () => {
    const body = { siteName: 'Juniper & Oak', name: 'Pete Lund', username: 'pete', expiresAt: '2030-01-08T00:00:00Z' };
    const { f, calls } = fetcher({ status: 200, body });
    expect(await lookUpReset(TOKEN, f)).toEqual({ state: 'valid', info: body });
    expect(calls[0]!.url).toBe(`/api/resets/${TOKEN}`);
  });
  test('404 is gone (unknown, used, expired); an empty token is gone without asking', async () => {
    const { f, calls } = fetcher({ status: 404, body: { error: 'not_found', message: 'not found' } });
    expect(await lookUpReset(TOKEN, f)).toEqual({ state: 'gone' });
    expect(await lookUpReset('', f)).toEqual({ state: 'gone' });
    expect(calls.length).toBe(1);
  });
  test('a network failure, a 429 or an odd answer is an error to retry', async () => {
    const { f } = fetcher('network', { status: 429 }, { status: 200, body: { siteName: 'x' } });
    expect(await lookUpReset(TOKEN, f)).toEqual({ state: 'error', message: expect.stringMatching(/Cannot reach the server/) });
    expect(await lookUpReset(TOKEN, f)).toEqual({ state: 'error', message: expect.stringMatching(/Too many attempts/) });
    expect(await lookUpReset(TOKEN, f)).toEqual({ state: 'error', message: 'Unexpected answer from the server.' });
  });
});

describe('completeReset', () => {
  test('posts the password as typed; 200 is a session', async () => {
    const session = { token: 'jwt', agent: { id: 'p', name: 'Pete Lund', siteId: 's', role: 'agent' } };
    const { f, calls } = fetcher({ status: 200, body: session });
    expect(await completeReset(TOKEN, ' new pass ', f)).toEqual({ ok: true, session });
    expect(calls[0]!.init!.method).toBe('POST');
    expect(JSON.parse(calls[0]!.init!.body as string)).toEqual({ password: ' new pass ' });
  });
  test("400 shows the server's message; 404 says the link is gone", async () => {
    const { f } = fetcher(
      { status: 400, body: { error: 'invalid', message: 'the password must have at least 8 characters' } },
      { status: 404, body: { error: 'not_found', message: 'not found' } },
    );
    expect(await completeReset(TOKEN, 'x', f)).toEqual({ ok: false, message: 'The password must have at least 8 characters.' });
    expect(await completeReset(TOKEN, 'x', f)).toEqual({ ok: false, gone: true, message: expect.stringMatching(/used or has expired/) });
  });
  test('the form: at least 8 characters, typed twice the same', () => {
    expect(checkReset('long enough', 'long enough')).toBe('');
    expect(checkReset('', '')).toBe('Enter a new password.');
    expect(checkReset('short', 'short')).toMatch(/at least 8/);
    expect(checkReset('long enough', 'long enougH')).toBe('The two passwords are not the same.');
  });
});

describe('profile checks', () => {
  test('a display name: 1..100 characters', () => {
    expect(nameProblem('Olga')).toBe('');
    expect(nameProblem('   ')).toBe('Enter your name.');
    expect(nameProblem('x'.repeat(101))).toMatch(/at most 100/);
    expect(nameProblem('😀'.repeat(100))).toBe('');
  });
  test('changing the password: the current one, then a new one twice, not the same as before', () => {
    const ok = { current: 'old-pass-1', next: 'new-pass-1', repeat: 'new-pass-1' };
    expect(checkPasswordForm(ok)).toBe('');
    expect(checkPasswordForm({ ...ok, current: '' })).toBe('Enter your current password.');
    expect(checkPasswordForm({ ...ok, next: '1234567', repeat: '1234567' })).toMatch(/at least 8/);
    expect(checkPasswordForm({ ...ok, repeat: 'new-pass-2' })).toBe('The two passwords are not the same.');
    expect(checkPasswordForm({ ...ok, next: 'old-pass-1', repeat: 'old-pass-1' })).toMatch(/same as the current/);
    expect(passwordProblem('12345678', '12345678')).toBe('');
  });
  test("a refusal: the server's message as a sentence, hints for the rest", () => {
    expect(profileRefusal({ code: 'invalid', message: 'the current password is wrong' })).toBe('The current password is wrong.');
    expect(profileRefusal({ code: 'rate_limited', message: 'slow down' })).toMatch(/Too many attempts/);
    expect(profileRefusal({ code: 'timeout', message: 'x' })).toMatch(/No answer/);
  });
});
