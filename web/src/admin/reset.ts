// The password-reset page's logic (`/admin/reset/TOKEN`, the link an admin's `resetPassword`
// makes): which token the address names, what `GET /api/resets/TOKEN` says about it, the form's
// checks and `POST /api/resets/TOKEN`, whose 200 answer is a login's (docs/protocol.md
// "Password resets"). Unit-tested in reset.test.ts with a scripted `fetch`.
import { problem, UNREACHABLE, type Fetch, type Session } from './invite';
import { passwordProblem } from './profile';

export interface ResetInfo {
  siteName: string;
  name: string;
  username: string;
  expiresAt: string;
}

export type ResetLookup =
  | { state: 'valid'; info: ResetInfo }
  /** Unknown, used, expired, or an agent deleted meanwhile: the server does not say which. */
  | { state: 'gone' }
  | { state: 'error'; message: string };

export type ResetDone = { ok: true; session: Session } | { ok: false; gone?: boolean; message: string };

const PATH = /^\/admin\/reset\/([A-Za-z0-9_~.-]{1,512})\/?$/;

/** The token of a reset address, `null` for any other path, `''` when malformed. */
export function resetToken(pathname: string): string | null {
  if (!pathname.startsWith('/admin/reset/')) return null;
  const m = PATH.exec(pathname);
  return m ? m[1]! : '';
}

/** The first problem with the new password and its repetition, or ''. */
export function checkReset(password: string, repeat: string): string {
  return passwordProblem(password, repeat);
}

const url = (token: string) => `/api/resets/${encodeURIComponent(token)}`;

export async function lookUpReset(token: string, f: Fetch = fetch): Promise<ResetLookup> {
  if (!token) return { state: 'gone' };
  let res: Response;
  try {
    res = await f(url(token), { headers: { accept: 'application/json' } });
  } catch {
    return { state: 'error', message: UNREACHABLE };
  }
  if (res.status === 404) return { state: 'gone' };
  if (!res.ok) return { state: 'error', message: await problem(res) };
  const b = await res.json().catch(() => null);
  if (!b || typeof b.username !== 'string' || typeof b.name !== 'string')
    return { state: 'error', message: 'Unexpected answer from the server.' };
  return {
    state: 'valid',
    info: { siteName: String(b.siteName || ''), name: b.name, username: b.username, expiresAt: String(b.expiresAt || '') },
  };
}

export async function completeReset(token: string, password: string, f: Fetch = fetch): Promise<ResetDone> {
  let res: Response;
  try {
    res = await f(url(token), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password }),
    });
  } catch {
    return { ok: false, message: UNREACHABLE };
  }
  if (res.status === 404) return { ok: false, gone: true, message: 'This link has been used or has expired.' };
  if (!res.ok) return { ok: false, message: await problem(res) };
  const body = await res.json().catch(() => null);
  if (!body || typeof body.token !== 'string' || !body.agent) return { ok: false, message: 'Unexpected answer from the server.' };
  return { ok: true, session: body as Session };
}
