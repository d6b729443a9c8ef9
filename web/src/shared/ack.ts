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

// A send waits less than a page: its pending bubble says "Sending…" meanwhile.
const TIMEOUT_MS: Record<string, number> = { send: 10000 };
const PAGE_TIMEOUT_MS = 15000;

/** Requests over whatever socket `current()` returns when each request is made. */
export function acker<M extends Requests<M>>(current: () => Socket | null): Ack<M> {
  return async (event, payload) => {
    const socket = current();
    if (!socket) return fail('offline', 'Not connected');
    let r: any;
    try {
      r = await socket.timeout(TIMEOUT_MS[event] || PAGE_TIMEOUT_MS).emitWithAck(event, payload);
    } catch {
      return fail('timeout', 'No answer from the server');
    }
    if (r && r.ok === true) return r;
    const e = r && r.error;
    return fail(String((e && e.code) || 'internal'), String((e && e.message) || 'Not sent'));
  };
}

const fail = (code: string, message: string) => ({ ok: false as const, error: { code, message } });
