// "Send transcript" against a scripted server.
import { describe, expect, test } from 'vitest';
import { sendTranscript, transcriptRefusal } from './transcript';
import type { AckResult } from '../shared/types';

/** An ack that answers `r` and records what it was asked. */
function answering(r: AckResult<{}>) {
  const asked: [string, unknown][] = [];
  const ack = (async (event: string, payload: unknown) => {
    asked.push([event, payload]);
    return r;
  }) as any;
  return { ack, asked };
}
const refused = (code: string, message = `refused: ${code}`): AckResult<never> => ({ ok: false, error: { code, message } });

describe('sendTranscript', () => {
  test("asks for the conversation's transcript and confirms the address it goes to", async () => {
    const { ack, asked } = answering({ ok: true });
    expect(await sendTranscript(ack, 'c1', 'ada@example.com')).toEqual({ ok: true, text: 'Transcript sent to ada@example.com' });
    expect(asked).toEqual([['transcript', { conversationId: 'c1' }]]);
  });

  test("shows the server's refusal", async () => {
    const { ack } = answering(refused('invalid', 'this server does not send e-mail'));
    expect(await sendTranscript(ack, 'c1', 'ada@example.com')).toEqual({ ok: false, text: 'This server does not send e-mail.' });
  });
});

describe('transcriptRefusal', () => {
  const error = (code: string, message = `refused: ${code}`) => ({ code, message });
  test("invalid: the server's message, as a sentence", () => {
    expect(transcriptRefusal(error('invalid', 'the visitor has no e-mail address: set one with profile first'))).toBe(
      'The visitor has no e-mail address: set one with profile first.',
    );
  });
  test('rate_limited, not_found, timeout and offline say what to do', () => {
    expect(transcriptRefusal(error('rate_limited'))).toMatch(/too many transcripts.*later/i);
    expect(transcriptRefusal(error('not_found'))).toBe('This conversation no longer exists.');
    expect(transcriptRefusal(error('timeout'))).toBe('No answer from the server. Try again.');
    expect(transcriptRefusal(error('offline'))).toMatch(/^Not connected/);
  });
});
