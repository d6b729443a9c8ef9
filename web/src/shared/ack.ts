// Requests with an acknowledgement, typed per event. Every outcome is one value: the server's
// `{ ok: true, ... }`, its `{ ok: false, error }`, or an error made up here when no answer came
// (`timeout`) or there is no socket (`offline`), so callers branch on `ok` and never catch.
import type { Socket } from 'socket.io-client';
import type { AckResult } from './types';

/** Request map: event -> [payload, the ack's fields besides `ok`] (see `VisitorRequests`). */
type Requests<M> = { [E in keyof M]: [unknown, unknown] };
export type Ack<M extends Requests<M>> = <E extends keyof M & string>(
  event: E,
  payload: M[E][0],
) => Promise<AckResult<M[E][1]>>;

// A write waits less than a page of messages, which may be large and queued behind others.
const PAGES = ['history', 'sync', 'list'];

/** Requests over whatever socket `current()` returns when each request is made; `scope` goes
 * into every payload (an agent's requests about one conversation carry its `conversationId`). */
export function acker<M extends Requests<M>>(current: () => Socket | null, scope?: object): Ack<M> {
  return async (event, payload) => {
    const socket = current();
    if (!socket) return fail('offline', 'Not connected');
    let r: any;
    try {
      r = await socket.timeout(PAGES.includes(event) ? 15000 : 10000).emitWithAck(event, scope ? { ...(payload as object), ...scope } : payload);
    } catch {
      return fail('timeout', 'No answer from the server');
    }
    if (r && r.ok === true) return r;
    const e = r && r.error;
    const code = String((e && e.code) || 'internal');
    return fail(code, String((e && e.message) || code));
  };
}

const fail = (code: string, message: string) => ({ ok: false as const, error: { code, message } });
