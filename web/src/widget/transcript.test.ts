// The "E-mail me this conversation" control against a scripted server: each request waits
// until the test answers it. The real widget and server meet in e2e/tests/transcript.test.mjs.
import { describe, expect, test } from 'vitest';
import { catalogues } from './i18n';
import { TranscriptControl, looksLikeEmail, noteText, type TranscriptView } from './transcript';
import type { AckResult, Visitor } from '../shared/types';

interface Call {
  event: string;
  payload: any;
  answer(r: AckResult<any>): Promise<void>;
}

const settle = () => new Promise<void>((r) => setTimeout(r, 0));
const ok = (extra: object = {}) => ({ ok: true as const, ...extra });
const refused = (code: string): AckResult<never> => ({ ok: false, error: { code, message: `refused: ${code}` } });
const visitor = (email: string | null): Visitor => ({ id: 'v1', name: null, email, phone: null });

/** A control over a network whose requests stay open until answered; `last` is the highest
 * `seq` the widget holds. */
function control(last = 3) {
  const calls: Call[] = [];
  const ctx = { last, visitors: [] as Visitor[], changes: 0 };
  const c = new TranscriptControl(
    ((event: string, payload: unknown) =>
      new Promise((resolve) =>
        calls.push({
          event,
          payload,
          answer: async (r) => {
            resolve(r);
            await settle();
          },
        }),
      )) as any,
    {
      lastSeq: () => ctx.last,
      onVisitor: (v) => ctx.visitors.push(v),
      onChange: () => ctx.changes++,
    },
  );
  /** The next request, in the order they were made. */
  let taken = 0;
  const open = () => calls[taken++]!;
  return { c, calls, ctx, open };
}

const shows = (v: TranscriptView | null) =>
  v && { offer: v.offer, form: v.form, busy: v.busy, note: v.note, ...(v.to ? { to: v.to } : {}) };

describe('when the control shows', () => {
  test('only when the server e-mails transcripts and the conversation has a message', () => {
    expect(control(0).c.view(true)).toBeNull();
    expect(control(3).c.view(false)).toBeNull();
    expect(shows(control(3).c.view(true))).toEqual({ offer: true, form: false, busy: false, note: '' });
  });
});

describe('a visitor who gave an e-mail address', () => {
  test('clicking sends transcript at once and says where it went', async () => {
    const { c, calls, open } = control();
    const done = c.offer('ada@example.com');
    expect(shows(c.view(true))).toEqual({ offer: false, form: false, busy: true, note: 'sending' });
    const call = open();
    expect([call.event, call.payload]).toEqual(['transcript', {}]);
    await call.answer(ok());
    await done;
    expect(shows(c.view(true))).toEqual({ offer: false, form: false, busy: false, note: 'sent', to: 'ada@example.com' });
    expect(calls.map((x) => x.event)).toEqual(['transcript']);
  });

  test('past the rate it says to ask later, without the button', async () => {
    const { c, open } = control();
    const done = c.offer('ada@example.com');
    await open().answer(refused('rate_limited'));
    await done;
    expect(shows(c.view(true))).toEqual({ offer: false, form: false, busy: false, note: 'later', to: 'ada@example.com' });
  });

  test('any other refusal, or no answer, is a failure with the button to try again', async () => {
    for (const code of ['invalid', 'timeout', 'internal']) {
      const { c, open } = control();
      const done = c.offer('ada@example.com');
      await open().answer(refused(code));
      await done;
      expect(shows(c.view(true)), code).toEqual({ offer: true, form: false, busy: false, note: 'failed', to: 'ada@example.com' });
    }
  });

  test('a newer message brings the button back after a transcript', async () => {
    const { c, ctx, open } = control(3);
    const done = c.offer('ada@example.com');
    await open().answer(ok());
    await done;
    ctx.last = 4;
    expect(shows(c.view(true))).toEqual({ offer: true, form: false, busy: false, note: '' });
  });

  test('a second click while one is on its way sends nothing more', async () => {
    const { c, calls } = control();
    void c.offer('ada@example.com');
    void c.offer('ada@example.com');
    expect(calls.length).toBe(1);
  });
});

describe('a visitor without an e-mail address', () => {
  test('clicking opens the form and sends nothing', async () => {
    const { c, calls } = control();
    await c.offer(null);
    expect(shows(c.view(true))).toEqual({ offer: false, form: true, busy: false, note: '' });
    expect(calls).toEqual([]);
  });

  test('the typed address goes on the profile first, then the transcript is sent to it', async () => {
    const { c, ctx, calls, open } = control();
    await c.offer(null);
    const done = c.submit('  ada@example.com ');
    expect(shows(c.view(true))).toEqual({ offer: false, form: true, busy: true, note: 'sending' });
    const profile = open();
    expect([profile.event, profile.payload]).toEqual(['profile', { email: 'ada@example.com' }]);
    await profile.answer(ok({ visitor: visitor('ada@example.com') }));
    expect(ctx.visitors).toEqual([visitor('ada@example.com')]);
    const transcript = open();
    expect(transcript.event).toBe('transcript');
    await transcript.answer(ok());
    await done;
    expect(shows(c.view(true))).toEqual({ offer: false, form: false, busy: false, note: 'sent', to: 'ada@example.com' });
    expect(calls.map((x) => x.event)).toEqual(['profile', 'transcript']);
  });

  test('an address that does not look like one is refused before asking', async () => {
    const { c, calls } = control();
    await c.offer(null);
    for (const typed of ['', 'ada', 'ada@example', 'a da@example.com']) {
      await c.submit(typed);
      expect(shows(c.view(true)), typed).toEqual({ offer: false, form: true, busy: false, note: 'badEmail' });
    }
    expect(calls).toEqual([]);
  });

  test("the server's refusal of the address keeps the form, to check it; no transcript is asked", async () => {
    const { c, calls, ctx, open } = control();
    await c.offer(null);
    const done = c.submit('ada@example.com');
    await open().answer(refused('invalid'));
    await done;
    expect(shows(c.view(true))).toEqual({ offer: false, form: true, busy: false, note: 'badEmail' });
    expect(calls.map((x) => x.event)).toEqual(['profile']);
    expect(ctx.visitors).toEqual([]);
  });

  test('no answer to the profile keeps the form with a failure to try again', async () => {
    const { c, open } = control();
    await c.offer(null);
    const done = c.submit('ada@example.com');
    await open().answer(refused('timeout'));
    await done;
    expect(shows(c.view(true))).toEqual({ offer: false, form: true, busy: false, note: 'failed' });
  });

  test('a refused transcript after the address was taken offers the button, now sending at once', async () => {
    const { c, open } = control();
    await c.offer(null);
    const done = c.submit('ada@example.com');
    await open().answer(ok({ visitor: visitor('ada@example.com') }));
    await open().answer(refused('internal'));
    await done;
    expect(shows(c.view(true))).toEqual({ offer: true, form: false, busy: false, note: 'failed', to: 'ada@example.com' });
  });
});

test('after a reset (another identity) an answer to an earlier request is not shown', async () => {
  const { c, open } = control();
  const done = c.offer('ada@example.com');
  c.reset();
  await open().answer(ok());
  await done;
  expect(shows(c.view(true))).toEqual({ offer: true, form: false, busy: false, note: '' });
});

test('every note has a text in every language, the address as typed in "sent"', () => {
  const v = (note: TranscriptView['note']): TranscriptView => ({ offer: false, form: false, busy: false, note, to: 'ada@example.com' });
  for (const t of Object.values(catalogues)) {
    expect(noteText(v(''), t)).toBe('');
    for (const note of ['sending', 'later', 'failed', 'badEmail'] as const) expect(noteText(v(note), t)).not.toBe('');
    expect(noteText(v('sent'), t)).toContain('ada@example.com');
  }
});

test('looksLikeEmail', () => {
  expect(looksLikeEmail('ada@example.com')).toBe(true);
  expect(looksLikeEmail('ada@example')).toBe(false);
  expect(looksLikeEmail('ada example@x.io')).toBe(false);
});
