// The Team page's model against a scripted server: each request waits until the test answers.
import { describe, expect, test } from 'vitest';
import { Team, errorText, sentence, timeUntil, type AdminRequests, type Member } from './team';
import type { AckResult } from '../shared/types';

interface Call {
  event: keyof AdminRequests;
  payload: any;
  answer(r: AckResult<any>): Promise<void>;
}

const settle = () => new Promise<void>((r) => setTimeout(r, 0));

function setup(me = 'a1') {
  const calls: Call[] = [];
  const ack = ((event: keyof AdminRequests, payload: unknown) =>
    new Promise((resolve) =>
      calls.push({
        event,
        payload,
        answer: async (r) => {
          resolve(r);
          await settle();
        },
      }),
    )) as any;
  let changes = 0;
  const selves: Member[] = [];
  const team = new Team(ack, { onChange: () => changes++, me: () => me, onSelf: (m) => selves.push(m) });
  /** The one open request, which must be of `event`. */
  const next = (event: keyof AdminRequests) => {
    const c = calls.shift();
    expect(c?.event).toBe(event);
    return c!;
  };
  return { team, calls, next, selves, changes: () => changes };
}

const member = (id: string, role: 'admin' | 'agent' = 'agent', disabled = false): Member => ({
  id,
  username: id,
  name: id.toUpperCase(),
  role,
  disabled,
});
const refuse = (code: string, message: string) => ({ ok: false as const, error: { code, message } });

async function loaded(me?: string) {
  const t = setup(me);
  const p = t.team.load();
  await t.next('team').answer({ ok: true, agents: [member('a1', 'admin'), member('b2'), member('c3', 'agent', true)] });
  await p;
  return t;
}

describe('Team', () => {
  test('loads the list; a failure shows as the page error and a retry clears it', async () => {
    const t = setup();
    const p = t.team.load();
    expect(t.team.loading).toBe(true);
    void t.team.load(); // one request at a time
    expect(t.calls.length).toBe(1);
    await t.next('team').answer(refuse('timeout', 'No answer from the server'));
    await p;
    expect(t.team.loaded).toBe(false);
    expect(t.team.error).toBe('No answer from the server. Try again.');
    const q = t.team.load();
    await t.next('team').answer({ ok: true, agents: [member('a1', 'admin')] });
    await q;
    expect(t.team.loaded).toBe(true);
    expect(t.team.error).toBe('');
    expect(t.team.members.map((m) => m.id)).toEqual(['a1']);
    expect(t.team.enabledAdmins()).toBe(1);
  });

  test('a change replaces the member with what the server answered, in place', async () => {
    const t = await loaded();
    const p = t.team.setRole('b2', 'admin');
    const call = t.next('setRole');
    expect(call.payload).toEqual({ agentId: 'b2', role: 'admin' });
    expect(t.team.busy.has('b2')).toBe(true);
    // a second change of the same agent is not sent while the first is in flight
    expect(await t.team.setDisabled('b2', true)).toBe(false);
    expect(t.calls.length).toBe(0);
    await call.answer({ ok: true, agent: member('b2', 'admin') });
    expect(await p).toBe(true);
    expect(t.team.members.map((m) => `${m.id}:${m.role}`)).toEqual(['a1:admin', 'b2:admin', 'c3:agent']);
    expect(t.team.busy.size).toBe(0);
    expect(t.team.enabledAdmins()).toBe(2);

    const q = t.team.setDisabled('c3', false);
    const enable = t.next('setDisabled');
    expect(enable.payload).toEqual({ agentId: 'c3', disabled: false });
    await enable.answer({ ok: true, agent: member('c3') });
    await q;
    expect(t.team.member('c3')?.disabled).toBe(false);
    expect(t.team.members.map((m) => m.id)).toEqual(['a1', 'b2', 'c3']);
  });

  test('a refusal is kept on its row, in the server\'s words, until the next change of that agent', async () => {
    const t = await loaded();
    const p = t.team.setRole('a1', 'agent');
    await t.next('setRole').answer(refuse('invalid', 'the site must keep at least one enabled admin'));
    expect(await p).toBe(false);
    expect(t.team.errors.get('a1')).toBe('The site must keep at least one enabled admin.');
    expect(t.team.member('a1')?.role).toBe('admin');
    expect(t.selves).toEqual([]);
    // other rows are not affected; the next change of a1 clears it
    const q = t.team.setDisabled('a1', true);
    expect(t.team.errors.has('a1')).toBe(false);
    await t.next('setDisabled').answer(refuse('forbidden', 'only an admin of the site may do this'));
    await q;
    expect(t.team.errors.get('a1')).toBe('Only an admin of the site may do this. If your role was changed, log in again.');
  });

  test('removing drops the row; a not_found refreshes the list', async () => {
    const t = await loaded();
    const p = t.team.remove('b2');
    const call = t.next('removeAgent');
    expect(call.payload).toEqual({ agentId: 'b2' });
    expect(t.team.members.length).toBe(3); // only once the server took it
    await call.answer({ ok: true });
    expect(await p).toBe(true);
    expect(t.team.members.map((m) => m.id)).toEqual(['a1', 'c3']);

    const q = t.team.setDisabled('c3', false);
    await t.next('setDisabled').answer(refuse('not_found', 'not found'));
    await q;
    expect(t.team.errors.get('c3')).toBe('This agent no longer exists.');
    // the reload shows the list as the server has it, and drops the refusal of a row that left
    await t.next('team').answer({ ok: true, agents: [member('a1', 'admin')] });
    expect(t.team.members.map((m) => m.id)).toEqual(['a1']);
    expect(t.team.errors.size).toBe(0);
  });

  test('an answer about the logged-in agent itself is reported (its role in the header)', async () => {
    const t = await loaded('b2');
    const p = t.team.setRole('b2', 'admin');
    await t.next('setRole').answer({ ok: true, agent: member('b2', 'admin') });
    await p;
    expect(t.selves.map((m) => m.role)).toEqual(['admin']);
  });

  test('invite: the link and its expiry, or the refusal; reset drops late answers', async () => {
    const t = await loaded();
    const p = t.team.invite('admin');
    expect(t.team.inviting).toBe(true);
    const call = t.next('invite');
    expect(call.payload).toEqual({ role: 'admin' });
    const invitation = { url: 'http://x/admin/invite/abc', role: 'admin', expiresAt: '2030-01-08T00:00:00Z' };
    await call.answer({ ok: true, invitation });
    expect(await p).toBe(true);
    expect(t.team.invitation).toEqual(invitation);
    expect(t.team.inviting).toBe(false);

    const q = t.team.invite('agent');
    expect(t.team.invitation).toBe(null);
    await t.next('invite').answer(refuse('forbidden', 'only an admin of the site may do this'));
    expect(await q).toBe(false);
    expect(t.team.inviteError).toMatch(/^Only an admin/);

    const r = t.team.load();
    const late = t.next('team');
    t.team.reset();
    await late.answer({ ok: true, agents: [member('z9')] });
    await r;
    expect(t.team.members).toEqual([]);
    expect(t.team.loaded).toBe(false);
  });

  test('agentPresence keeps online state live; an event during a reload wins over the list', async () => {
    const t = await loaded();
    expect(t.team.member('b2')?.online).toBe(undefined);
    t.team.presence('b2', true);
    expect(t.team.member('b2')?.online).toBe(true);
    t.team.presence('b2', false);
    expect(t.team.member('b2')?.online).toBe(false);
    t.team.presence('nobody', true); // not listed: ignored
    expect(t.team.members.length).toBe(3);
    // b2 comes online while the list is read; the list, read before, says offline
    const p = t.team.load();
    t.team.presence('b2', true);
    await t.next('team').answer({
      ok: true,
      agents: [{ ...member('a1', 'admin'), online: true }, { ...member('b2'), online: false }, { ...member('c3', 'agent', true), online: false }],
    });
    await p;
    expect(t.team.members.map((m) => `${m.id}:${m.online}`)).toEqual(['a1:true', 'b2:true', 'c3:false']);
    // the next reload takes the list as it comes
    const q = t.team.load();
    await t.next('team').answer({ ok: true, agents: [{ ...member('b2'), online: false }] });
    await q;
    expect(t.team.member('b2')?.online).toBe(false);
  });

  test('resetPassword keeps the link on the row, or the refusal', async () => {
    const t = await loaded();
    const p = t.team.resetPassword('b2');
    const call = t.next('resetPassword');
    expect(call.payload).toEqual({ agentId: 'b2' });
    expect(t.team.busy.has('b2')).toBe(true);
    const reset = { url: 'http://x/admin/reset/abc', role: 'agent', expiresAt: '2030-01-08T00:00:00Z' };
    await call.answer({ ok: true, reset });
    expect(await p).toBe(true);
    expect(t.team.resets.get('b2')).toEqual(reset);
    expect(t.team.member('b2')).toEqual(member('b2'));
    t.team.clearReset('b2');
    expect(t.team.resets.size).toBe(0);
    const q = t.team.resetPassword('c3');
    await t.next('resetPassword').answer(refuse('forbidden', 'only an admin of the site may do this'));
    expect(await q).toBe(false);
    expect(t.team.resets.size).toBe(0);
    expect(t.team.errors.get('c3')).toMatch(/^Only an admin/);
  });
});

describe('texts', () => {
  test('errorText: client-made codes get advice, server refusals its own words', () => {
    expect(errorText({ code: 'offline', message: 'Not connected' })).toMatch(/^Not connected\. Try again/);
    expect(errorText({ code: 'invalid', message: 'the site must keep at least one enabled admin' })).toBe(
      'The site must keep at least one enabled admin.',
    );
    expect(errorText({ code: 'internal', message: '' })).toBe('Internal.');
  });
  test('sentence', () => {
    expect(sentence('done!')).toBe('Done!');
    expect(sentence('  a b ')).toBe('A b.');
    expect(sentence('')).toBe('');
  });
  test('timeUntil', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(timeUntil('2030-01-08T00:00:00Z', now)).toBe('in 7 days');
    expect(timeUntil('2030-01-02T00:00:00Z', now)).toBe('in 24 hours');
    expect(timeUntil('2030-01-01T01:00:00Z', now)).toBe('in 1 hour');
    expect(timeUntil('2030-01-01T00:00:20Z', now)).toBe('in 1 minute');
    expect(timeUntil('2030-01-01T00:10:00Z', now)).toBe('in 10 minutes');
    expect(timeUntil('2029-12-31T00:00:00Z', now)).toBe('expired');
    expect(timeUntil('nonsense', now)).toBe('');
  });
});
