import { describe, expect, test } from 'vitest';
import { backWhen, fromWeekly, MAX_TIMER, nextSwitch, officeState, type OfficeHours } from './office-hours';

const t = (iso: string) => Date.parse(iso);
// Monday 7 December 2026, 16:00 in Berlin (UTC+1).
const NOW = t('2026-12-07T15:00:00Z');
const BERLIN = 'Europe/Berlin';
const weekdays = (from: string, to: string) =>
  (['mon', 'tue', 'wed', 'thu', 'fri'] as const).map((day) => ({ day, from, to }));
const hours = (o: Partial<OfficeHours>): OfficeHours => ({
  timeZone: BERLIN,
  weekly: weekdays('09:00', '17:00'),
  open: true,
  opensAt: null,
  closesAt: null,
  ...o,
});

describe('officeState', () => {
  test('a site without office hours is always open (no state)', () => {
    expect(officeState(null, NOW)).toBeNull();
  });
  test("the handshake's answer holds until the switch it announced", () => {
    const open = hours({ open: true, closesAt: '2026-12-07T16:00:00Z' });
    expect(officeState(open, NOW)).toEqual({ open: true, opensAt: null, closesAt: t('2026-12-07T16:00:00Z') });
    const closed = hours({ open: false, opensAt: '2026-12-08T08:00:00Z', weekly: [] });
    expect(officeState(closed, NOW)).toEqual({ open: false, opensAt: t('2026-12-08T08:00:00Z'), closesAt: null });
  });
  test('past the closing it announced, the weekly hours say when the team is back', () => {
    const open = hours({ open: true, closesAt: '2026-12-07T16:00:00Z' });
    expect(officeState(open, t('2026-12-07T16:00:00Z'))).toEqual({
      open: false,
      opensAt: t('2026-12-08T08:00:00Z'),
      closesAt: null,
    });
  });
  test('past the opening it announced, the weekly hours say when it closes', () => {
    const closed = hours({ open: false, opensAt: '2026-12-08T08:00:00Z' });
    expect(officeState(closed, t('2026-12-08T08:00:01Z'))).toEqual({
      open: true,
      opensAt: null,
      closesAt: t('2026-12-08T16:00:00Z'),
    });
  });
  test('closed with no opening within a week stays closed', () => {
    const closed = hours({ open: false, opensAt: null, weekly: [] });
    expect(officeState(closed, NOW + 30 * 86400_000)).toEqual({ open: false, opensAt: null, closesAt: null });
  });
  test('an unknown time zone switches once and then waits for the next connection', () => {
    const open = hours({ open: true, closesAt: '2026-12-07T16:00:00Z', timeZone: 'Mars/Olympus_Mons' });
    expect(officeState(open, t('2026-12-07T17:00:00Z'))).toEqual({ open: false, opensAt: null, closesAt: null });
  });
});

describe('fromWeekly', () => {
  test('open within a range, until its end', () => {
    expect(fromWeekly(BERLIN, weekdays('09:00', '17:00'), NOW)).toEqual({
      open: true,
      opensAt: null,
      closesAt: t('2026-12-07T16:00:00Z'),
    });
  });
  test('closed on Friday evening, back on Monday morning', () => {
    expect(fromWeekly(BERLIN, weekdays('09:00', '17:00'), t('2026-12-11T18:00:00Z'))).toEqual({
      open: false,
      opensAt: t('2026-12-14T08:00:00Z'),
      closesAt: null,
    });
  });
  test('ranges that touch or overlap are one opening, over midnight too', () => {
    const weekly = [
      { day: 'mon', from: '09:00', to: '12:00' },
      { day: 'mon', from: '12:00', to: '15:00' },
      { day: 'mon', from: '14:00', to: '24:00' },
      { day: 'tue', from: '00:00', to: '02:00' },
    ] as OfficeHours['weekly'];
    expect(fromWeekly(BERLIN, weekly, NOW).closesAt).toBe(t('2026-12-08T01:00:00Z'));
  });
  test('open around the clock has no closing, and no hours never open', () => {
    const all = (['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const).map((day) => ({ day, from: '00:00', to: '24:00' }));
    expect(fromWeekly(BERLIN, all, NOW)).toEqual({ open: true, opensAt: null, closesAt: null });
    expect(fromWeekly(BERLIN, [], NOW)).toEqual({ open: false, opensAt: null, closesAt: null });
  });
  test('the hours follow the zone over daylight saving; a time in the gap moves forward', () => {
    // Berlin springs forward on Sunday 28 March 2027, 02:00 CET -> 03:00 CEST.
    const gap = fromWeekly(BERLIN, [{ day: 'sun', from: '02:30', to: '05:00' }], t('2027-03-27T12:00:00Z'));
    expect(gap.opensAt).toBe(t('2027-03-28T01:30:00Z')); // 03:30 CEST
    const after = fromWeekly(BERLIN, weekdays('09:00', '17:00'), t('2027-03-28T12:00:00Z'));
    expect(after.opensAt).toBe(t('2027-03-29T07:00:00Z')); // 09:00 CEST
    // Falls back on Sunday 25 October 2026, 03:00 CEST -> 02:00 CET: 02:30 is its first.
    const twice = fromWeekly(BERLIN, [{ day: 'sun', from: '02:30', to: '05:00' }], t('2026-10-24T12:00:00Z'));
    expect(twice.opensAt).toBe(t('2026-10-25T00:30:00Z'));
  });
});

describe('nextSwitch', () => {
  test('is the time until the closing when open, until the opening when closed', () => {
    expect(nextSwitch({ open: true, opensAt: null, closesAt: NOW + 5000 }, NOW)).toBe(5000);
    expect(nextSwitch({ open: false, opensAt: NOW + 7000, closesAt: null }, NOW)).toBe(7000);
    expect(nextSwitch({ open: false, opensAt: NOW - 10, closesAt: null }, NOW)).toBe(0);
  });
  test('is none without a switch, and long waits are clamped to what setTimeout takes', () => {
    expect(nextSwitch(null, NOW)).toBeNull();
    expect(nextSwitch({ open: false, opensAt: null, closesAt: null }, NOW)).toBeNull();
    expect(nextSwitch({ open: false, opensAt: NOW + 40 * 86400_000, closesAt: null }, NOW)).toBe(MAX_TIMER);
  });
});

describe('backWhen', () => {
  // ICU puts a narrow no-break space before AM/PM in some versions, a space in others.
  const when = (...a: Parameters<typeof backWhen>) => backWhen(...a).replace(/\s/g, ' ');
  test('today, tomorrow and a weekday in English', () => {
    expect(when(t('2026-12-07T17:00:00Z'), NOW, 'en', BERLIN)).toBe('today at 6:00 PM');
    expect(when(t('2026-12-08T08:00:00Z'), NOW, 'en', BERLIN)).toBe('tomorrow at 9:00 AM');
    expect(when(t('2026-12-10T08:30:00Z'), NOW, 'en', BERLIN)).toBe('Thursday at 9:30 AM');
  });
  test('today, tomorrow and a weekday in German', () => {
    expect(when(t('2026-12-07T17:00:00Z'), NOW, 'de', BERLIN)).toBe('heute um 18:00 Uhr');
    expect(when(t('2026-12-08T08:00:00Z'), NOW, 'de', BERLIN)).toBe('morgen um 9:00 Uhr');
    expect(when(t('2026-12-10T08:30:00Z'), NOW, 'de', BERLIN)).toBe('am Donnerstag um 9:30 Uhr');
  });
  test('French, Spanish and Portuguese', () => {
    expect(when(t('2026-12-08T08:00:00Z'), NOW, 'fr', BERLIN)).toBe('demain à 9:00');
    expect(when(t('2026-12-10T08:00:00Z'), NOW, 'fr', BERLIN)).toBe('jeudi à 9:00');
    expect(when(t('2026-12-08T08:00:00Z'), NOW, 'es', BERLIN)).toBe('mañana a las 9:00');
    expect(when(t('2026-12-08T00:00:00Z'), NOW, 'es', BERLIN)).toBe('mañana a la 1:00');
    expect(when(t('2026-12-10T08:00:00Z'), NOW, 'pt', BERLIN)).toBe('na quinta-feira às 9:00');
    expect(when(t('2026-12-12T08:00:00Z'), NOW, 'pt', BERLIN)).toBe('no sábado às 9:00');
  });
  test("in the visitor's own time zone", () => {
    // Tuesday 03:00 in Berlin is still Monday 21:00 in New York.
    const at = t('2026-12-08T02:00:00Z');
    expect(when(at, NOW, 'en', BERLIN)).toBe('tomorrow at 3:00 AM');
    expect(when(at, NOW, 'en', 'America/New_York')).toBe('today at 9:00 PM');
  });
  test('a week or more ahead, by date', () => {
    expect(when(t('2026-12-14T08:00:00Z'), NOW, 'en', BERLIN)).toBe('on Monday, December 14 at 9:00 AM');
    expect(when(t('2026-12-14T08:00:00Z'), NOW, 'de', BERLIN)).toBe('am Montag, 14. Dezember um 9:00 Uhr');
  });
});
