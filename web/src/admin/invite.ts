// The invitation sign-up page's logic (`/admin/invite/TOKEN`): which token the address names,
// what `GET /api/invitations/TOKEN` says about it, the form's checks (the server's limits,
// docs/protocol.md "Invitations"), and `POST /api/invitations/TOKEN`, whose 200 answer is a
// login's. Unit-tested in invite.test.ts with a scripted `fetch`.
import { sentence, type Role } from './team';

export interface InvitationInfo {
  siteName: string;
  role: Role;
  expiresAt: string;
}

export interface SignUp {
  name: string;
  username: string;
  password: string;
}

/** The login answer (`POST /api/login`), which an accepted invitation answers too. */
export interface Session {
  token: string;
  agent: { id: string; name: string; siteId: string; role: Role };
  /** Not in the server's answer: the username the agent signed in with, kept for the Profile page. */
  username?: string;
}

export type Lookup =
  | { state: 'valid'; info: InvitationInfo }
  /** Unknown, used or expired: the server does not say which. */
  | { state: 'gone' }
  | { state: 'error'; message: string };

export type Accepted = { ok: true; session: Session } | { ok: false; gone?: boolean; message: string };

const PATH = /^\/admin\/invite\/([A-Za-z0-9_~.-]{1,512})\/?$/;

/** The token of an invitation address, `null` for any other path. A malformed token is `''`
 * (the page says the link is not valid, without asking the server). */
export function inviteToken(pathname: string): string | null {
  if (!pathname.startsWith('/admin/invite/')) return null;
  const m = PATH.exec(pathname);
  return m ? m[1]! : '';
}

const len = (s: string) => [...s].length;

/** The first problem with the form, or '' (the same limits the server applies). */
export function checkSignUp(f: SignUp): string {
  const name = f.name.trim();
  const username = f.username.trim();
  if (!name) return 'Enter your name.';
  if (len(name) > 100) return 'Your name can have at most 100 characters.';
  if (!username) return 'Choose a username.';
  if (len(username) > 64) return 'The username can have at most 64 characters.';
  if (/\s/.test(username)) return 'The username cannot contain spaces.';
  if (len(f.password) < 8) return 'The password needs at least 8 characters.';
  return '';
}

export type Fetch = typeof fetch;

const url = (token: string) => `/api/invitations/${encodeURIComponent(token)}`;
export const UNREACHABLE = 'Cannot reach the server. Check your connection and try again.';

export async function lookUp(token: string, f: Fetch = fetch): Promise<Lookup> {
  if (!token) return { state: 'gone' };
  let res: Response;
  try {
    res = await f(url(token), { headers: { accept: 'application/json' } });
  } catch {
    return { state: 'error', message: UNREACHABLE };
  }
  if (res.status === 404) return { state: 'gone' };
  if (!res.ok) return { state: 'error', message: await problem(res) };
  const body = await res.json().catch(() => null);
  if (!body || typeof body.siteName !== 'string') return { state: 'error', message: 'Unexpected answer from the server.' };
  return { state: 'valid', info: { siteName: body.siteName, role: body.role === 'admin' ? 'admin' : 'agent', expiresAt: String(body.expiresAt || '') } };
}

export async function accept(token: string, form: SignUp, f: Fetch = fetch): Promise<Accepted> {
  let res: Response;
  try {
    res = await f(url(token), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: form.name.trim(), username: form.username.trim(), password: form.password }),
    });
  } catch {
    return { ok: false, message: UNREACHABLE };
  }
  if (res.status === 404) return { ok: false, gone: true, message: 'This invitation link has been used or has expired.' };
  if (!res.ok) return { ok: false, message: await problem(res) };
  const body = await res.json().catch(() => null);
  if (!body || typeof body.token !== 'string' || !body.agent) return { ok: false, message: 'Unexpected answer from the server.' };
  return { ok: true, session: body as Session };
}

/** What an error answer says: the server's message for a refused field, a hint otherwise. */
export async function problem(res: Response): Promise<string> {
  if (res.status === 429) return 'Too many attempts. Wait a minute and try again.';
  if (res.status === 503) return 'The server is busy. Try again shortly.';
  const body = await res.json().catch(() => null);
  if (res.status === 400 && body && typeof body.message === 'string' && body.message) return sentence(body.message);
  return `The server answered with an error (${res.status}). Try again.`;
}

