// A site's office hours in the widget: whether the team is in now, when that changes, and how
// to tell the visitor when it is back ("tomorrow at 9:00"). Pure functions of `now`; the
// widget's index.ts only keeps the timer.
//
// The session's `officeHours` is the server's answer as of the handshake (`open`, `opensAt`,
// `closesAt`). It holds until its own switch time; past that (a visitor who keeps the page
// open over a closing), the state is worked out here from the weekly ranges in the site's
// zone with the browser's own time-zone data, the way the server does (src/domain/hours.rs),
// so that the widget switches without reconnecting.
import { catalogues, type Lang, type When } from './i18n';

export type Day = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
export type OfficeHours = {
  timeZone: string;
  weekly: { day: Day; from: string; to: string }[];
  open: boolean;
  opensAt: string | null;
  closesAt: string | null;
};
/** Times in ms since the epoch; `opensAt` only when closed, `closesAt` only when open, each
 *  null when there is none within a week. */
export type OfficeState = { open: boolean; opensAt: number | null; closesAt: number | null };

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
/** setTimeout's longest delay (2^31 - 1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_TIMER = 2 ** 31 - 1;
const DAYS: Day[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** The office-hours state at `now`; null when the site has none (always open). */
export function officeState(hours: OfficeHours | null | undefined, now: number): OfficeState | null {
  if (!hours) return null;
  const at = (s: string | null) => {
    const t = s ? Date.parse(s) : NaN;
    return isNaN(t) ? null : t;
  };
  const closesAt = at(hours.closesAt);
  const opensAt = at(hours.opensAt);
  // The handshake's answer, until the switch it announced.
  if (hours.open && (closesAt == null || now < closesAt)) return { open: true, opensAt: null, closesAt };
  if (!hours.open && (opensAt == null || now < opensAt)) return { open: false, opensAt, closesAt: null };
  try {
    return fromWeekly(hours.timeZone, hours.weekly || [], now);
  } catch {
    // An unknown zone in this browser: only what the switch itself says.
    return { open: !hours.open, opensAt: null, closesAt: null };
  }
}

/** How long until `state` changes, for a timer; null when it does not within a week. */
export function nextSwitch(state: OfficeState | null, now: number): number | null {
  const at = state && (state.open ? state.closesAt : state.opensAt);
  if (at == null) return null;
  return Math.min(Math.max(at - now, 0), MAX_TIMER);
}

/** The state at `now` from the weekly ranges (`from`/`to` "HH:MM" in `timeZone`). */
export function fromWeekly(timeZone: string, weekly: OfficeHours['weekly'], now: number): OfficeState {
  const today = localDay(now, timeZone);
  const ranges: [number, number][] = [];
  // From yesterday (a range may still be running) to a week and a day ahead.
  for (let i = -1; i <= 8; i++) {
    const date = today + i * DAY;
    const day = DAYS[new Date(date).getUTCDay()];
    for (const r of weekly) {
      if (r.day !== day) continue;
      const start = toInstant(date, minutes(r.from), timeZone);
      const end = toInstant(date, minutes(r.to), timeZone);
      if (start < end) ranges.push([start, end]);
    }
  }
  ranges.sort((a, b) => a[0] - b[0]);
  // Overlapping or touching ranges are one opening.
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  // As the server's handshake: a closing up to 8 days ahead (the range of days looked at),
  // an opening up to a week ahead.
  const current = merged.find(([s, e]) => s <= now && now < e);
  if (current) return { open: true, opensAt: null, closesAt: current[1] < now + WEEK + DAY ? current[1] : null };
  const next = merged.find(([s]) => s > now && s <= now + WEEK);
  return { open: false, opensAt: next ? next[0] : null, closesAt: null };
}

/** "today at 9:00", "tomorrow at 9:00", "Monday at 9:00" (within a week), in `lang` and the
 *  visitor's time zone (`timeZone`: undefined is the browser's own). */
export function backWhen(opensAt: number, now: number, lang: Lang, timeZone?: string): string {
  const format = (o: Intl.DateTimeFormatOptions) => new Intl.DateTimeFormat(lang, { ...o, timeZone }).format(opensAt);
  const date = localDay(opensAt, timeZone);
  const days = Math.round((date - localDay(now, timeZone)) / DAY);
  const kind: When['kind'] = days <= 0 ? 'today' : days === 1 ? 'tomorrow' : days < 7 ? 'weekday' : 'date';
  return catalogues[lang].when({
    kind,
    time: format({ hour: 'numeric', minute: '2-digit' }),
    hour: wallClock(opensAt, timeZone).hour,
    day:
      kind === 'weekday'
        ? format({ weekday: 'long' })
        : kind === 'date'
          ? format({ weekday: 'long', day: 'numeric', month: 'long' })
          : '',
    weekday: new Date(date).getUTCDay(),
  });
}

// ---- wall-clock time in a zone ----

const formats = new Map<string, Intl.DateTimeFormat>();
function wallClock(t: number, timeZone: string | undefined) {
  const key = timeZone || '';
  let f = formats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formats.set(key, f);
  }
  const p: Record<string, number> = {};
  for (const { type, value } of f.formatToParts(t)) p[type] = Number(value);
  return { year: p.year, month: p.month, day: p.day, hour: p.hour % 24, minute: p.minute, second: p.second };
}

/** The calendar day of `t` in the zone, as midnight UTC of that date. */
function localDay(t: number, timeZone: string | undefined): number {
  const w = wallClock(t, timeZone);
  return Date.UTC(w.year, w.month - 1, w.day);
}

/** The zone's offset from UTC at `t`, in ms. */
function offset(t: number, timeZone: string): number {
  const s = Math.floor(t / 1000) * 1000;
  const w = wallClock(s, timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - s;
}

/** The instant of the wall-clock time `date` (midnight UTC of the date) + `mins` in the zone.
 *  A time that falls in a daylight-saving gap moves forward by the gap; one that happens twice
 *  is its first. */
function toInstant(date: number, mins: number, timeZone: string): number {
  const wall = date + mins * MINUTE;
  const before = offset(wall - DAY, timeZone);
  const after = offset(wall + DAY, timeZone);
  const a = wall - before;
  const b = wall - after;
  const fits = (t: number, o: number) => offset(t, timeZone) === o;
  if (fits(a, before) && fits(b, after)) return Math.min(a, b);
  if (fits(b, after)) return b;
  return a; // fits the offset before, or falls in the gap: the offset before moves it forward
}

function minutes(hhmm: string): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(hhmm);
  return m ? Number(m[1]) * 60 + Number(m[2]) : 0;
}
