// The Settings page's model (admins only): the site's settings as `settings` answers them, the
// form an admin edits, what of it changed (`updateSettings` takes only that), the form's checks
// (the server's rules, docs/protocol.md "Site settings") and the weekly office-hours editor.
// The server decides; its `invalid` message shows next to the form. It reaches the network only
// through a typed `ack`, so its unit tests (settings.test.ts) script the server's answers.
import type { Ack } from '../shared/ack';
import type { AckError } from '../shared/types';
import { errorText, sentence } from './team';
import { emailProblem, senderOf, senderProblem } from './email';

export type Field = 'name' | 'email' | 'phone';
export const FIELDS: Field[] = ['name', 'email', 'phone'];

export type Day = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
export const DAYS: Day[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** One opening, `"HH:MM"` in 24-hour time in the site's zone; `to` may be `"24:00"`. */
export interface Range {
  day: Day;
  from: string;
  to: string;
}

export interface OfficeHours {
  timeZone: string;
  weekly: Range[];
}

/** A site's settings, as `settings` and `updateSettings` answer them. */
export interface SiteSettings {
  siteKey: string;
  name: string;
  accentColor: string | null;
  greeting: string | null;
  awayMessage: string | null;
  prechatFields: Field[];
  prechatRequired: Field[];
  allowedOrigins: string[];
  /** `null`: always open. Absent from a server that has no office hours. */
  officeHours?: OfficeHours | null;
  /** The `Reply-To` of the site's e-mails; `null`: none. */
  contactEmail?: string | null;
  /** The site's own sender, `Name <address>` or an address; `null`: the server's. */
  mailFrom?: string | null;
  /** Whether this server sends e-mail at all (it has an SMTP server). Read-only. */
  emailEnabled?: boolean;
}

/** `updateSettings`: what is not given stays; `''` puts a text or the colour back to the default. */
export interface SettingsUpdate {
  name?: string;
  accentColor?: string;
  greeting?: string;
  awayMessage?: string;
  prechatFields?: Field[];
  prechatRequired?: Field[];
  allowedOrigins?: string[];
  officeHours?: OfficeHours | null;
  contactEmail?: string;
  mailFrom?: string;
}

export interface SettingsRequests {
  settings: [{}, { settings: SiteSettings }];
  updateSettings: [SettingsUpdate, { settings: SiteSettings }];
}

/** How the pre-chat form treats a field. */
export type Ask = 'off' | 'ask' | 'require';

/** The weekly hours as the editor shows them: each day's openings, in order; none = closed. */
export type Week = Record<Day, { from: string; to: string }[]>;

/** What the page edits, as the inputs hold it. */
export interface Form {
  name: string;
  /** `#rrggbb`, or '' for the widget's default colour. */
  accentColor: string;
  greeting: string;
  awayMessage: string;
  fields: Record<Field, Ask>;
  /** One origin a line. */
  origins: string;
  alwaysOpen: boolean;
  timeZone: string;
  week: Week;
  /** The contact address; '' for none. */
  contactEmail: string;
  /** The sender; '' for the server's. */
  mailFrom: string;
}

/** The widget's own accent colour, shown when the site has none. */
export const DEFAULT_ACCENT = '#4f46e5';
export const MAX_NAME = 100;
export const MAX_TEXT = 500;
export const MAX_RANGES = 50;

const len = (s: string) => [...s].length;

// ---------------------------------------------------------------- office hours

/** The editor's week of a `weekly` list: openings grouped by day, each day's by start. An end of
 * `"24:00"` shows as `"00:00"` (a time input has no 24:00; an end at 00:00 is midnight). */
export function weekOf(weekly: Range[]): Week {
  const week = emptyWeek();
  for (const r of weekly) if (week[r.day]) week[r.day].push({ from: r.from, to: r.to === '24:00' ? '00:00' : r.to });
  for (const d of DAYS) week[d].sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
  return week;
}

/** The `weekly` list of the editor's week, Monday first; an end of `"00:00"` is `"24:00"`. */
export function weeklyOf(week: Week): Range[] {
  const out: Range[] = [];
  for (const day of DAYS)
    for (const r of [...week[day]].sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0)))
      out.push({ day, from: r.from, to: r.to === '00:00' ? '24:00' : r.to });
  return out;
}

export function emptyWeek(): Week {
  return { mon: [], tue: [], wed: [], thu: [], fri: [], sat: [], sun: [] };
}

/** Monday to Friday, 9 to 5: what "set office hours" starts from. */
export function workWeek(): Week {
  const week = emptyWeek();
  for (const d of DAYS.slice(0, 5)) week[d] = [{ from: '09:00', to: '17:00' }];
  return week;
}

/** `week` with one more opening on `day`: 9 to 5 on a closed day, else an hour after the last. */
export function addRange(week: Week, day: Day): Week {
  const list = week[day];
  const last = list[list.length - 1];
  let next = { from: '09:00', to: '17:00' };
  if (last) {
    const end = minutes(last.to === '00:00' ? '24:00' : last.to);
    const from = Math.min(end + 60, 23 * 60);
    next = { from: hhmm(from), to: hhmm(Math.min(from + 120, 24 * 60)).replace('24:00', '00:00') };
  }
  return { ...week, [day]: [...list, next] };
}

export function removeRange(week: Week, day: Day, i: number): Week {
  return { ...week, [day]: week[day].filter((_, j) => j !== i) };
}

export function setRange(week: Week, day: Day, i: number, patch: Partial<{ from: string; to: string }>): Week {
  return { ...week, [day]: week[day].map((r, j) => (j === i ? { ...r, ...patch } : r)) };
}

/** Opens a closed day (9 to 5) or closes an open one. */
export function toggleDay(week: Week, day: Day): Week {
  return week[day].length ? { ...week, [day]: [] } : addRange(week, day);
}

const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;
function minutes(t: string): number {
  if (t === '24:00') return 24 * 60;
  return Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));
}
function hhmm(m: number): string {
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

/** The problems of one opening ('' when none): times as "HH:MM", the end after the start. */
export function rangeProblem(r: { from: string; to: string }): string {
  if (!TIME.test(r.from) || !TIME.test(r.to)) return 'Enter both times.';
  const to = r.to === '00:00' ? 24 * 60 : minutes(r.to);
  if (minutes(r.from) >= to) return 'The end must be after the start.';
  return '';
}

/** Whether the browser knows `zone` as an IANA time zone. */
export function validZone(zone: string): boolean {
  if (!zone) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The time zones to choose from, with `current` among them even where the list lacks it. */
export function zones(current: string): string[] {
  let list: string[] = [];
  try {
    list = (Intl as unknown as { supportedValuesOf?(k: string): string[] }).supportedValuesOf?.('timeZone') || [];
  } catch {
    /* an old browser: only the current zone */
  }
  if (current && !list.includes(current)) list = [current, ...list];
  if (!list.includes('UTC')) list = [...list, 'UTC'];
  return list;
}

/** The browser's own time zone (the admin's), the default for new office hours. */
export function ownZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

// ---------------------------------------------------------------- form

/** The form showing `s`. Without office hours, the hours editor starts from a work week in `zone`. */
export function formOf(s: SiteSettings, zone = ownZone()): Form {
  const fields = {} as Record<Field, Ask>;
  for (const f of FIELDS) fields[f] = s.prechatRequired.includes(f) ? 'require' : s.prechatFields.includes(f) ? 'ask' : 'off';
  const hours = s.officeHours || null;
  return {
    name: s.name,
    accentColor: s.accentColor || '',
    greeting: s.greeting || '',
    awayMessage: s.awayMessage || '',
    fields,
    origins: s.allowedOrigins.join('\n'),
    alwaysOpen: !hours,
    timeZone: hours ? hours.timeZone : zone,
    week: hours ? weekOf(hours.weekly) : workWeek(),
    contactEmail: s.contactEmail || '',
    mailFrom: s.mailFrom || '',
  };
}

/** The origins of the text box: one a line (spaces and commas also separate), no trailing `/`. */
export function originsOf(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/[\s,]+/)) {
    const o = raw.trim().replace(/\/+$/, '');
    if (o && !out.includes(o)) out.push(o);
  }
  return out;
}

export function hoursOf(f: Form): OfficeHours | null {
  return f.alwaysOpen ? null : { timeZone: f.timeZone, weekly: weeklyOf(f.week) };
}

const sameList = <T>(a: readonly T[], b: readonly T[]) => a.length === b.length && a.every((x, i) => x === b[i]);
const sameSet = <T>(a: readonly T[], b: readonly T[]) => a.length === b.length && a.every((x) => b.includes(x));

function sameHours(a: OfficeHours | null, b: OfficeHours | null): boolean {
  if (!a || !b) return a === b;
  if (a.timeZone !== b.timeZone) return false;
  const key = (r: Range) => `${DAYS.indexOf(r.day)} ${r.from} ${r.to}`;
  const ka = a.weekly.map(key).sort();
  const kb = b.weekly.map(key).sort();
  return sameList(ka, kb);
}

/** What of `f` differs from `s`: the payload of `updateSettings` (empty when nothing changed). */
export function changes(s: SiteSettings, f: Form): SettingsUpdate {
  const u: SettingsUpdate = {};
  const name = f.name.trim();
  if (name !== s.name) u.name = name;
  const color = f.accentColor.trim().toLowerCase();
  if (color !== (s.accentColor || '').toLowerCase()) u.accentColor = color;
  const greeting = f.greeting.trim();
  if (greeting !== (s.greeting || '')) u.greeting = greeting;
  const away = f.awayMessage.trim();
  if (away !== (s.awayMessage || '')) u.awayMessage = away;
  const asked = FIELDS.filter((k) => f.fields[k] !== 'off');
  const required = FIELDS.filter((k) => f.fields[k] === 'require');
  if (!sameSet(asked, s.prechatFields)) u.prechatFields = asked;
  if (!sameSet(required, s.prechatRequired)) u.prechatRequired = required;
  const origins = originsOf(f.origins);
  if (!sameList(origins, s.allowedOrigins)) u.allowedOrigins = origins;
  const hours = hoursOf(f);
  // A server without office hours (the field absent) has none to change unless some are set.
  if (!sameHours(hours, s.officeHours || null)) u.officeHours = hours;
  const contact = f.contactEmail.trim();
  if (contact !== (s.contactEmail || '')) u.contactEmail = contact;
  // The server writes a sender back in its own spacing: compare it that way.
  const sender = senderOf(f.mailFrom);
  if (sender !== senderOf(s.mailFrom || '')) u.mailFrom = sender;
  return u;
}

/** Which part of the form a problem is about, for showing it there. */
export type Part = 'name' | 'accentColor' | 'greeting' | 'awayMessage' | 'origins' | 'hours' | 'contactEmail' | 'mailFrom';
export type Problems = Partial<Record<Part, string>> & { ranges?: Partial<Record<Day, string[]>> };

/** The form's problems by part, with the server's limits; none: `{}`. */
export function problems(f: Form): Problems {
  const p: Problems = {};
  const name = f.name.trim();
  if (!name) p.name = 'Enter a name for your site.';
  else if (len(name) > MAX_NAME) p.name = `The name can have at most ${MAX_NAME} characters.`;
  else if (/[\r\n]/.test(name)) p.name = 'The name must be on one line.';
  const color = f.accentColor.trim();
  if (color && !/^#[0-9a-fA-F]{6}$/.test(color)) p.accentColor = 'Enter a colour as #rrggbb, for example #0f766e.';
  for (const [part, label] of [
    ['greeting', 'The greeting'],
    ['awayMessage', 'The away message'],
  ] as const) {
    const t = f[part].trim();
    if (len(t) > MAX_TEXT) p[part] = `${label} can have at most ${MAX_TEXT} characters (now ${len(t)}).`;
    // eslint-disable-next-line no-control-regex
    else if (/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.test(t.replace(/\r\n/g, '\n'))) p[part] = `${label} contains control characters.`;
  }
  const bad = originsOf(f.origins).find((o) => !/^https?:\/\/[^/\s?#]+$/i.test(o));
  if (bad) p.origins = `“${bad}” is not an origin like https://shop.example.`;
  const contact = emailProblem(f.contactEmail);
  if (contact) p.contactEmail = contact;
  const sender = senderProblem(f.mailFrom);
  if (sender) p.mailFrom = sender;
  if (!f.alwaysOpen) {
    if (!validZone(f.timeZone)) p.hours = 'Choose a time zone.';
    const ranges: Partial<Record<Day, string[]>> = {};
    let n = 0;
    for (const d of DAYS) {
      n += f.week[d].length;
      const list = f.week[d].map(rangeProblem);
      if (list.some(Boolean)) ranges[d] = list;
    }
    if (Object.keys(ranges).length) {
      p.ranges = ranges;
      p.hours ||= 'Some opening times need fixing.';
    } else if (n > MAX_RANGES) p.hours = `At most ${MAX_RANGES} openings a week.`;
  }
  return p;
}

export function hasProblems(p: Problems): boolean {
  return Object.keys(p).length > 0;
}

/** The snippet a site embeds the widget with (README "Embed"). */
export function snippet(origin: string, siteKey: string): string {
  return `<script src="${origin.replace(/\/+$/, '')}/widget.js" data-site="${siteKey}" async></script>`;
}

// ---------------------------------------------------------------- the model

export interface SettingsOptions {
  onChange?: () => void;
}

export class Settings {
  /** What the server answered last. */
  current: SiteSettings | null = null;
  loading = false;
  /** Why the settings could not be loaded ('' when they were). */
  error = '';
  saving = false;
  /** The server's refusal of the last save ('' when it took it). */
  saveError = '';
  /** When the last save was taken (ms), for the "Saved" note; 0: not since loading. */
  savedAt = 0;
  private epoch = 0;

  constructor(
    private ack: Ack<SettingsRequests>,
    private opts: SettingsOptions = {},
  ) {}

  private changed() {
    this.opts.onChange?.();
  }

  reset() {
    this.epoch++;
    this.current = null;
    this.loading = this.saving = false;
    this.error = this.saveError = '';
    this.savedAt = 0;
    this.changed();
  }

  async load(): Promise<void> {
    if (this.loading) return;
    const epoch = this.epoch;
    this.loading = true;
    this.changed();
    const r = await this.ack('settings', {});
    if (epoch !== this.epoch) return;
    this.loading = false;
    if (r.ok) {
      this.current = r.settings;
      this.error = this.saveError = '';
      this.savedAt = 0;
    } else this.error = refusal(r.error);
    this.changed();
  }

  /** Forgets the outcome of the last save (the form was put back as it was). */
  clearStatus() {
    if (!this.saveError && !this.savedAt) return;
    this.saveError = '';
    this.savedAt = 0;
    this.changed();
  }

  /** Sends what of `form` changed; answers the settings the server then holds, or null. */
  async save(form: Form): Promise<SiteSettings | null> {
    const s = this.current;
    if (!s || this.saving) return null;
    const update = changes(s, form);
    if (!Object.keys(update).length) return s;
    const epoch = this.epoch;
    this.saving = true;
    this.saveError = '';
    this.savedAt = 0;
    this.changed();
    const r = await this.ack('updateSettings', update);
    if (epoch !== this.epoch) return null;
    this.saving = false;
    if (r.ok) {
      this.current = r.settings;
      this.savedAt = Date.now();
    } else {
      this.saveError = refusal(r.error);
    }
    this.changed();
    return r.ok ? r.settings : null;
  }
}

/** A refusal as the page shows it: the server's `invalid` message as a sentence. */
function refusal(e: AckError): string {
  if (e.code === 'invalid') return sentence(e.message || 'a setting is not valid');
  if (e.code === 'not_found') return 'This site no longer exists.';
  return errorText(e);
}
