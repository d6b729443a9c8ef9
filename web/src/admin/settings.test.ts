// The Settings page's model: the form of a site's settings, what of it changed, its checks, the
// weekly office-hours editor, and the save against a scripted server.
import { describe, expect, test } from 'vitest';
import {
  Settings,
  addRange,
  changes,
  emptyWeek,
  formOf,
  hasProblems,
  hoursOf,
  originsOf,
  problems,
  rangeProblem,
  removeRange,
  setRange,
  snippet,
  toggleDay,
  weekOf,
  weeklyOf,
  workWeek,
  zones,
  type Range,
  type SettingsRequests,
  type SiteSettings,
} from './settings';
import type { AckResult } from '../shared/types';

const SITE: SiteSettings = {
  siteKey: 'pk_juniper',
  name: 'Juniper & Oak',
  accentColor: null,
  greeting: null,
  awayMessage: null,
  prechatFields: ['name', 'email'],
  prechatRequired: [],
  allowedOrigins: [],
  officeHours: null,
  contactEmail: null,
  mailFrom: null,
  emailEnabled: false,
};

describe('the office-hours editor', () => {
  const weekly: Range[] = [
    { day: 'tue', from: '13:00', to: '17:00' },
    { day: 'mon', from: '09:00', to: '17:00' },
    { day: 'tue', from: '08:00', to: '12:00' },
    { day: 'sat', from: '20:00', to: '24:00' },
  ];
  test('a weekly list becomes a week by day, each day in order, and back, Monday first', () => {
    const week = weekOf(weekly);
    expect(week.mon).toEqual([{ from: '09:00', to: '17:00' }]);
    expect(week.tue).toEqual([
      { from: '08:00', to: '12:00' },
      { from: '13:00', to: '17:00' },
    ]);
    expect(week.wed).toEqual([]);
    // a time input has no 24:00: an end at midnight shows as 00:00
    expect(week.sat).toEqual([{ from: '20:00', to: '00:00' }]);
    expect(weeklyOf(week)).toEqual([
      { day: 'mon', from: '09:00', to: '17:00' },
      { day: 'tue', from: '08:00', to: '12:00' },
      { day: 'tue', from: '13:00', to: '17:00' },
      { day: 'sat', from: '20:00', to: '24:00' },
    ]);
    expect(weeklyOf(emptyWeek())).toEqual([]);
  });

  test('adding opens a closed day 9 to 5, or adds an opening after the last; removing the last closes the day', () => {
    let week = emptyWeek();
    week = addRange(week, 'wed');
    expect(week.wed).toEqual([{ from: '09:00', to: '17:00' }]);
    week = addRange(week, 'wed');
    expect(week.wed).toEqual([
      { from: '09:00', to: '17:00' },
      { from: '18:00', to: '20:00' },
    ]);
    week = addRange(addRange(week, 'wed'), 'wed');
    expect(week.wed.slice(2)).toEqual([
      { from: '21:00', to: '23:00' },
      { from: '23:00', to: '00:00' },
    ]);
    expect(week.wed.map(rangeProblem)).toEqual(['', '', '', '']);
    week = setRange(week, 'wed', 1, { to: '19:30' });
    expect(week.wed[1]).toEqual({ from: '18:00', to: '19:30' });
    week = removeRange(removeRange(removeRange(week, 'wed', 3), 'wed', 2), 'wed', 0);
    expect(week.wed).toEqual([{ from: '18:00', to: '19:30' }]);
    expect(removeRange(week, 'wed', 0).wed).toEqual([]);
    expect(toggleDay(week, 'wed').wed).toEqual([]);
    expect(toggleDay(week, 'sun').sun).toEqual([{ from: '09:00', to: '17:00' }]);
  });

  test('an opening needs both times and its end after its start; 00:00 as the end is midnight', () => {
    expect(rangeProblem({ from: '09:00', to: '17:00' })).toBe('');
    expect(rangeProblem({ from: '00:00', to: '00:00' })).toBe('');
    expect(rangeProblem({ from: '17:00', to: '09:00' })).toBe('The end must be after the start.');
    expect(rangeProblem({ from: '09:00', to: '09:00' })).toBe('The end must be after the start.');
    expect(rangeProblem({ from: '', to: '17:00' })).toBe('Enter both times.');
    expect(rangeProblem({ from: '9:00', to: '17:00' })).toBe('Enter both times.');
  });

  test('the time zones offered include the current one', () => {
    const list = zones('Europe/Berlin');
    expect(list).toContain('Europe/Berlin');
    expect(list).toContain('UTC');
    expect(zones('Mars/Olympus_Mons')[0]).toBe('Mars/Olympus_Mons');
  });
});

describe('the form', () => {
  test('shows the settings; defaults as empty fields; without hours, a work week in the admin’s zone', () => {
    const f = formOf({ ...SITE, prechatFields: ['name', 'email', 'phone'], prechatRequired: ['email'] }, 'Europe/Lisbon');
    expect(f.name).toBe('Juniper & Oak');
    expect(f.accentColor).toBe('');
    expect(f.greeting).toBe('');
    expect(f.fields).toEqual({ name: 'ask', email: 'require', phone: 'ask' });
    expect(f.alwaysOpen).toBe(true);
    expect(f.timeZone).toBe('Europe/Lisbon');
    expect(f.week).toEqual(workWeek());
    // a server without office hours: the same
    const { officeHours: _, ...old } = SITE;
    expect(formOf(old, 'UTC').alwaysOpen).toBe(true);
    const hours = formOf({ ...SITE, officeHours: { timeZone: 'America/New_York', weekly: [{ day: 'fri', from: '10:00', to: '14:00' }] } });
    expect(hours.alwaysOpen).toBe(false);
    expect(hours.timeZone).toBe('America/New_York');
    expect(hours.week.fri).toEqual([{ from: '10:00', to: '14:00' }]);
    expect(hours.week.mon).toEqual([]);
  });

  test('an unchanged form changes nothing', () => {
    expect(changes(SITE, formOf(SITE))).toEqual({});
    const set: SiteSettings = {
      ...SITE,
      accentColor: '#0f766e',
      greeting: 'Hi!\nAsk away.',
      allowedOrigins: ['https://shop.example'],
      officeHours: { timeZone: 'Europe/Berlin', weekly: [{ day: 'sat', from: '10:00', to: '24:00' }, { day: 'mon', from: '09:00', to: '17:00' }] },
    };
    expect(changes(set, formOf(set))).toEqual({});
  });

  test('only what changed is sent: texts trimmed, colour in lower case, an emptied text or colour as ""', () => {
    const s: SiteSettings = { ...SITE, greeting: 'Hello', accentColor: '#0f766e' };
    const f = formOf(s);
    expect(changes(s, { ...f, accentColor: '#FF6600', greeting: ' Hello ' })).toEqual({ accentColor: '#ff6600' });
    expect(changes(s, { ...f, accentColor: '', greeting: '  ' })).toEqual({ accentColor: '', greeting: '' });
    expect(changes(s, { ...f, name: '  Juniper and Oak ', awayMessage: 'Back soon.' })).toEqual({
      name: 'Juniper and Oak',
      awayMessage: 'Back soon.',
    });
  });

  test('pre-chat fields: asked and required lists, each sent only when it changed', () => {
    const f = formOf(SITE);
    expect(changes(SITE, { ...f, fields: { name: 'ask', email: 'require', phone: 'off' } })).toEqual({ prechatRequired: ['email'] });
    expect(changes(SITE, { ...f, fields: { name: 'off', email: 'ask', phone: 'require' } })).toEqual({
      prechatFields: ['email', 'phone'],
      prechatRequired: ['phone'],
    });
    // the order the server keeps does not count as a change
    const s = { ...SITE, prechatFields: ['email', 'name'] as SiteSettings['prechatFields'] };
    expect(changes(s, formOf(s))).toEqual({});
  });

  test('origins: one a line (spaces and commas too), no trailing slash, no repeats', () => {
    expect(originsOf(' https://shop.example/\n\nhttps://www.shop.example, https://shop.example ')).toEqual([
      'https://shop.example',
      'https://www.shop.example',
    ]);
    const f = formOf(SITE);
    expect(changes(SITE, { ...f, origins: 'https://shop.example/' })).toEqual({ allowedOrigins: ['https://shop.example'] });
    const s = { ...SITE, allowedOrigins: ['https://shop.example'] };
    expect(changes(s, { ...formOf(s), origins: '' })).toEqual({ allowedOrigins: [] });
  });

  test('office hours: the switch sends null or the zone with the weekly list', () => {
    const f = formOf(SITE, 'Europe/Berlin');
    const open = { ...f, alwaysOpen: false };
    expect(hoursOf(open)).toEqual({ timeZone: 'Europe/Berlin', weekly: weeklyOf(workWeek()) });
    expect(changes(SITE, open)).toEqual({ officeHours: { timeZone: 'Europe/Berlin', weekly: weeklyOf(workWeek()) } });
    // always closed: an empty list
    expect(changes(SITE, { ...open, week: emptyWeek() })).toEqual({ officeHours: { timeZone: 'Europe/Berlin', weekly: [] } });
    const s: SiteSettings = { ...SITE, officeHours: { timeZone: 'Europe/Berlin', weekly: [{ day: 'mon', from: '09:00', to: '17:00' }] } };
    expect(changes(s, { ...formOf(s), alwaysOpen: true })).toEqual({ officeHours: null });
    expect(changes(s, { ...formOf(s), timeZone: 'Asia/Tokyo' })).toEqual({
      officeHours: { timeZone: 'Asia/Tokyo', weekly: [{ day: 'mon', from: '09:00', to: '17:00' }] },
    });
  });

  test("problems, by part, with the server's limits", () => {
    const f = formOf(SITE, 'Europe/Berlin');
    expect(problems(f)).toEqual({});
    expect(hasProblems(problems(f))).toBe(false);
    expect(problems({ ...f, name: '  ' }).name).toBe('Enter a name for your site.');
    expect(problems({ ...f, name: 'x'.repeat(101) }).name).toMatch(/at most 100/);
    expect(problems({ ...f, name: '😀'.repeat(100) })).toEqual({});
    expect(problems({ ...f, accentColor: 'teal' }).accentColor).toMatch(/#rrggbb/);
    expect(problems({ ...f, accentColor: '#0F766E' })).toEqual({});
    expect(problems({ ...f, greeting: 'x'.repeat(501) }).greeting).toBe('The greeting can have at most 500 characters (now 501).');
    expect(problems({ ...f, greeting: 'line one\nline two' })).toEqual({});
    expect(problems({ ...f, awayMessage: 'tab\there' }).awayMessage).toBe('The away message contains control characters.');
    expect(problems({ ...f, origins: 'https://shop.example\nshop.example' }).origins).toBe(
      '“shop.example” is not an origin like https://shop.example.',
    );
    expect(problems({ ...f, origins: 'https://shop.example/path' }).origins).toMatch(/not an origin/);
    expect(problems({ ...f, origins: 'http://localhost:8080' })).toEqual({});
    const bad = { ...f, alwaysOpen: false, week: setRange(workWeek(), 'tue', 0, { to: '08:00' }) };
    const p = problems(bad);
    expect(p.hours).toBe('Some opening times need fixing.');
    expect(p.ranges).toEqual({ tue: ['The end must be after the start.'] });
    expect(problems({ ...f, alwaysOpen: false, timeZone: 'Nowhere/Else' }).hours).toBe('Choose a time zone.');
    // a bad opening does not count while the site is always open
    expect(problems({ ...bad, alwaysOpen: true })).toEqual({});
    let many = emptyWeek();
    for (let i = 0; i < 51; i++) many = { ...many, mon: [...many.mon, { from: '09:00', to: '10:00' }] };
    expect(problems({ ...f, alwaysOpen: false, week: many }).hours).toBe('At most 50 openings a week.');
  });

  test('e-mail: the contact address and the sender, each sent only when it changed, emptied as ""', () => {
    const f = formOf(SITE);
    expect([f.contactEmail, f.mailFrom]).toEqual(['', '']);
    expect(changes(SITE, { ...f, contactEmail: ' help@shop.example ' })).toEqual({ contactEmail: 'help@shop.example' });
    expect(changes(SITE, { ...f, mailFrom: 'Shop  <  help@shop.example >' })).toEqual({ mailFrom: 'Shop <help@shop.example>' });
    const s: SiteSettings = { ...SITE, contactEmail: 'help@shop.example', mailFrom: 'Shop <help@shop.example>' };
    expect(changes(s, formOf(s))).toEqual({});
    // the same sender spaced differently is no change
    expect(changes(s, { ...formOf(s), mailFrom: ' Shop<help@shop.example> ' })).toEqual({});
    expect(changes(s, { ...formOf(s), contactEmail: '', mailFrom: ' ' })).toEqual({ contactEmail: '', mailFrom: '' });
    // a server without these settings: nothing to change unless some are set
    const { contactEmail: _c, mailFrom: _m, emailEnabled: _e, ...old } = SITE;
    expect(changes(old, formOf(old))).toEqual({});
  });

  test('e-mail problems: a bad contact address or sender', () => {
    const f = formOf(SITE);
    expect(problems({ ...f, contactEmail: 'help' }).contactEmail).toMatch(/e-mail address/);
    expect(problems({ ...f, mailFrom: 'Shop' }).mailFrom).toMatch(/Name <address@example.com>/);
    expect(problems({ ...f, contactEmail: 'help@shop.example', mailFrom: 'Shop <help@shop.example>' })).toEqual({});
  });

  test('the embed snippet names the server and the site key', () => {
    expect(snippet('https://chat.example/', 'pk_1')).toBe('<script src="https://chat.example/widget.js" data-site="pk_1" async></script>');
  });
});

describe('Settings', () => {
  function setup() {
    const calls: { event: keyof SettingsRequests; payload: any; answer(r: AckResult<any>): Promise<void> }[] = [];
    const ack = ((event: keyof SettingsRequests, payload: unknown) =>
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
    const model = new Settings(ack);
    return { model, calls };
  }

  test('loads, then saves only what changed and keeps what the server answered', async () => {
    const { model, calls } = setup();
    const p = model.load();
    await calls.shift()!.answer({ ok: true, settings: SITE });
    await p;
    expect(model.current).toEqual(SITE);
    const f = formOf(SITE);
    // nothing changed: nothing sent
    expect(await model.save(f)).toEqual(SITE);
    expect(calls.length).toBe(0);
    const saving = model.save({ ...f, accentColor: '#0F766E', greeting: 'Hej!' });
    expect(model.saving).toBe(true);
    const call = calls.shift()!;
    expect(call.event).toBe('updateSettings');
    expect(call.payload).toEqual({ accentColor: '#0f766e', greeting: 'Hej!' });
    const after = { ...SITE, accentColor: '#0f766e', greeting: 'Hej!' };
    await call.answer({ ok: true, settings: after });
    expect(await saving).toEqual(after);
    expect(model.current).toEqual(after);
    expect(model.savedAt).toBeGreaterThan(0);
    expect(model.saveError).toBe('');
  });

  test("a refusal shows the server's message and keeps the settings as they were", async () => {
    const { model, calls } = setup();
    const p = model.load();
    await calls.shift()!.answer({ ok: true, settings: SITE });
    await p;
    const saving = model.save({ ...formOf(SITE), origins: 'https://a.example' });
    await calls.shift()!.answer({ ok: false, error: { code: 'invalid', message: 'allowedOrigins: "x" is not an origin like https://shop.example' } });
    expect(await saving).toBe(null);
    expect(model.saveError).toBe('AllowedOrigins: "x" is not an origin like https://shop.example.');
    expect(model.current).toEqual(SITE);
    expect(model.savedAt).toBe(0);
    const again = model.save({ ...formOf(SITE), greeting: 'x' });
    await calls.shift()!.answer({ ok: false, error: { code: 'forbidden', message: 'only an admin of the site may do this' } });
    await again;
    expect(model.saveError).toMatch(/^Only an admin of the site may do this\. If your role was changed/);
  });

  test('a failed load shows why; a reset drops answers of the earlier session', async () => {
    const { model, calls } = setup();
    const p = model.load();
    await calls.shift()!.answer({ ok: false, error: { code: 'timeout', message: 'No answer from the server' } });
    await p;
    expect(model.error).toBe('No answer from the server. Try again.');
    const q = model.load();
    model.reset();
    await calls.shift()!.answer({ ok: true, settings: SITE });
    await q;
    expect(model.current).toBe(null);
  });
});
