// The Profile page's e-mail settings: the form, what of it changed, and load and save against a
// scripted server (`profile {}` answers the profile as it is).
import { describe, expect, test } from 'vitest';
import { OwnMail, mailChanges, mailFormOf, type OwnAgent, type ProfileRequests } from './profile';
import type { AckResult } from '../shared/types';

const ME: OwnAgent = { id: 'a1', name: 'Ann', siteId: 's1', role: 'agent', email: null, offlineEmails: true };

describe('the e-mail form', () => {
  test('shows the address ("" for none) and the choice; an older server means e-mails on', () => {
    expect(mailFormOf(ME)).toEqual({ email: '', offlineEmails: true });
    expect(mailFormOf({ ...ME, email: 'ann@shop.example', offlineEmails: false })).toEqual({ email: 'ann@shop.example', offlineEmails: false });
    const { email: _e, offlineEmails: _o, ...old } = ME;
    expect(mailFormOf(old)).toEqual({ email: '', offlineEmails: true });
  });

  test('only what changed is sent; an emptied address as ""', () => {
    expect(mailChanges(ME, mailFormOf(ME))).toEqual({});
    expect(mailChanges(ME, { email: ' ann@shop.example ', offlineEmails: true })).toEqual({ email: 'ann@shop.example' });
    expect(mailChanges(ME, { email: '', offlineEmails: false })).toEqual({ offlineEmails: false });
    const set = { ...ME, email: 'ann@shop.example' };
    expect(mailChanges(set, { email: '  ', offlineEmails: true })).toEqual({ email: '' });
  });
});

describe('OwnMail', () => {
  function setup() {
    const calls: { event: keyof ProfileRequests; payload: any; answer(r: AckResult<any>): Promise<void> }[] = [];
    const ack = ((event: keyof ProfileRequests, payload: unknown) =>
      new Promise((resolve) =>
        calls.push({
          event,
          payload,
          answer: async (r) => {
            resolve(r);
            await new Promise((d) => setTimeout(d, 0));
          },
        }),
      )) as any;
    return { model: new OwnMail(ack), calls };
  }

  test('loads with profile {}, then saves only what changed and keeps what the server answered', async () => {
    const { model, calls } = setup();
    const p = model.load();
    const load = calls.shift()!;
    expect([load.event, load.payload]).toEqual(['profile', {}]);
    await load.answer({ ok: true, agent: ME });
    await p;
    expect(model.current).toEqual(ME);
    expect(await model.save(mailFormOf(ME))).toBe(true);
    expect(calls.length).toBe(0);
    const saving = model.save({ email: 'ann@shop.example', offlineEmails: false });
    expect(model.saving).toBe(true);
    const call = calls.shift()!;
    expect(call.payload).toEqual({ email: 'ann@shop.example', offlineEmails: false });
    const after = { ...ME, email: 'ann@shop.example', offlineEmails: false };
    await call.answer({ ok: true, agent: after });
    expect(await saving).toBe(true);
    expect(model.current).toEqual(after);
    expect(model.savedAt).toBeGreaterThan(0);
  });

  test('a bad address is not sent; a refusal shows and keeps the settings as they were', async () => {
    const { model, calls } = setup();
    const p = model.load();
    await calls.shift()!.answer({ ok: true, agent: ME });
    await p;
    expect(await model.save({ email: 'ann at shop', offlineEmails: true })).toBe(false);
    expect(calls.length).toBe(0);
    expect(model.saveError).toMatch(/e-mail address/);
    const saving = model.save({ email: 'ann@shop.example', offlineEmails: true });
    await calls.shift()!.answer({ ok: false, error: { code: 'invalid', message: 'email must be an e-mail address' } });
    expect(await saving).toBe(false);
    expect(model.saveError).toBe('Email must be an e-mail address.');
    expect(model.current).toEqual(ME);
  });

  test('a reset drops answers of the earlier session', async () => {
    const { model, calls } = setup();
    const p = model.load();
    model.reset();
    await calls.shift()!.answer({ ok: true, agent: ME });
    await p;
    expect(model.current).toBe(null);
  });
});
