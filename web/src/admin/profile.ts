// The Profile page's model (every agent): the agent's own display name, password and e-mail
// settings, changed with `profile` over /agent (docs/protocol.md "An agent's own profile"). A new
// password ends every older session; the ack carries the token this tab goes on with (the store
// reconnects with it). `profile {}` answers the profile as it is, which the e-mail settings load
// from. The checks here are the server's limits, so most mistakes are caught before asking.
import type { Ack } from '../shared/ack';
import { emailProblem } from './email';
import { sentence, type Role } from './team';

/** `profile`: both passwords or neither; `email: ''` clears the address. */
export interface ProfileChange {
  name?: string;
  currentPassword?: string;
  newPassword?: string;
  email?: string;
  offlineEmails?: boolean;
}
/** The agent as `profile` answers it. `email` and `offlineEmails` are absent from an older server. */
export interface OwnAgent {
  id: string;
  name: string;
  siteId: string;
  role: Role;
  email?: string | null;
  offlineEmails?: boolean;
}
export interface ProfileRequests {
  profile: [ProfileChange, { agent: OwnAgent; token?: string }];
}

export const MIN_PASSWORD = 8;
const len = (s: string) => [...s].length;

/** The first problem with a display name, or ''. */
export function nameProblem(raw: string): string {
  const name = raw.trim();
  if (!name) return 'Enter your name.';
  if (len(name) > 100) return 'Your name can have at most 100 characters.';
  return '';
}

/** The first problem with a new password and its repetition, or ''. */
export function passwordProblem(next: string, repeat: string): string {
  if (!next) return 'Enter a new password.';
  if (len(next) < MIN_PASSWORD) return `The password needs at least ${MIN_PASSWORD} characters.`;
  if (next !== repeat) return 'The two passwords are not the same.';
  return '';
}

export interface PasswordForm {
  current: string;
  next: string;
  repeat: string;
}

/** The first problem with the change-password form, or ''. */
export function checkPasswordForm(f: PasswordForm): string {
  if (!f.current) return 'Enter your current password.';
  const p = passwordProblem(f.next, f.repeat);
  if (p) return p;
  if (f.next === f.current) return 'The new password is the same as the current one.';
  return '';
}

/** A refusal of `profile` as the page shows it. A wrong current password is `invalid` too. */
export function profileRefusal(e: { code: string; message: string }): string {
  switch (e.code) {
    case 'invalid':
      return sentence(e.message || 'not valid');
    case 'rate_limited':
      return 'Too many attempts. Wait a minute and try again.';
    case 'timeout':
      return 'No answer from the server. Try again.';
    case 'offline':
      return 'Not connected. Try again when the connection is back.';
    default:
      return sentence(e.message || e.code);
  }
}

// ---------------------------------------------------------------- e-mail settings

/** The agent's e-mail settings as the page edits them. */
export interface MailForm {
  /** '' for none. */
  email: string;
  offlineEmails: boolean;
}

export function mailFormOf(a: OwnAgent): MailForm {
  return { email: a.email || '', offlineEmails: a.offlineEmails !== false };
}

/** What of `f` differs from what the server holds: the payload of `profile` (empty: nothing). */
export function mailChanges(a: OwnAgent, f: MailForm): ProfileChange {
  const c: ProfileChange = {};
  const email = f.email.trim();
  if (email !== (a.email || '')) c.email = email;
  if (f.offlineEmails !== (a.offlineEmails !== false)) c.offlineEmails = f.offlineEmails;
  return c;
}

export interface OwnMailOptions {
  onChange?: () => void;
  /** The server answered the agent (after a load or a save). */
  onAgent?: (a: OwnAgent) => void;
}

/** The agent's e-mail address and whether it wants offline messages by e-mail: loaded with
 * `profile {}`, saved with what changed. */
export class OwnMail {
  /** What the server answered last. */
  current: OwnAgent | null = null;
  loading = false;
  /** Why the settings could not be loaded ('' when they were). */
  error = '';
  saving = false;
  /** The problem or the server's refusal of the last save ('' when none). */
  saveError = '';
  /** When the last save was taken (ms); 0: not since loading. */
  savedAt = 0;
  private epoch = 0;

  constructor(
    private ack: Ack<ProfileRequests>,
    private opts: OwnMailOptions = {},
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
    const r = await this.ack('profile', {});
    if (epoch !== this.epoch) return;
    this.loading = false;
    if (r.ok) {
      this.current = r.agent;
      this.error = '';
      this.opts.onAgent?.(r.agent);
    } else this.error = profileRefusal(r.error);
    this.changed();
  }

  /** Sends what of `f` changed; true when the server holds `f` afterwards. */
  async save(f: MailForm): Promise<boolean> {
    const a = this.current;
    if (!a || this.saving) return false;
    const problem = emailProblem(f.email);
    this.savedAt = 0;
    if (problem) {
      this.saveError = problem;
      this.changed();
      return false;
    }
    const change = mailChanges(a, f);
    if (!Object.keys(change).length) return true;
    const epoch = this.epoch;
    this.saving = true;
    this.saveError = '';
    this.changed();
    const r = await this.ack('profile', change);
    if (epoch !== this.epoch) return false;
    this.saving = false;
    if (r.ok) {
      this.current = r.agent;
      this.savedAt = Date.now();
      this.opts.onAgent?.(r.agent);
    } else this.saveError = profileRefusal(r.error);
    this.changed();
    return r.ok;
  }
}
