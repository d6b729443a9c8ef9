// The Profile page's model (every agent): the agent's own display name and password, changed
// with `profile` over /agent (docs/protocol.md "An agent's own profile"). A new password ends
// every older session; the ack carries the token this tab goes on with (the store reconnects
// with it). The checks here are the server's limits, so most mistakes are caught before asking.
import { sentence, type Role } from './team';

/** `profile`: both passwords or neither. */
export interface ProfileChange {
  name?: string;
  currentPassword?: string;
  newPassword?: string;
}
export interface ProfileRequests {
  profile: [ProfileChange, { agent: { id: string; name: string; siteId: string; role: Role }; token?: string }];
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
