// "Send transcript" in an open conversation's header: e-mails the whole conversation to the
// visitor's address with the agent's `transcript` (docs/protocol.md, *E-mail*). The action shows
// only for a visitor with an address; whether this server sends e-mail at all is the server's
// to say, in its refusal ("this server does not send e-mail"), which is shown as it is.
import type { Ack } from '../shared/ack';
import type { AckError } from '../shared/types';
import { errorText, sentence } from './team';

export interface TranscriptRequests {
  transcript: [{ conversationId: string }, {}];
}

/** What the header shows after a request: a confirmation, or the refusal (`ok: false`). */
export interface TranscriptOutcome {
  ok: boolean;
  text: string;
}

/** Asks for the transcript of `conversationId` to be e-mailed to `to`, the visitor's address. */
export async function sendTranscript(ack: Ack<TranscriptRequests>, conversationId: string, to: string): Promise<TranscriptOutcome> {
  const r = await ack('transcript', { conversationId });
  return r.ok ? { ok: true, text: `Transcript sent to ${to}` } : { ok: false, text: transcriptRefusal(r.error) };
}

/** A refused `transcript` as the header shows it. */
export function transcriptRefusal(e: AckError): string {
  switch (e.code) {
    case 'invalid': // no e-mail from this server, or the visitor's address is gone
      return sentence(e.message || 'the transcript cannot be sent');
    case 'rate_limited':
      return 'This conversation has had too many transcripts for now. Try again later.';
    case 'not_found':
      return 'This conversation no longer exists.';
    default:
      return errorText(e);
  }
}
