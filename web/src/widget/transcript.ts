// The widget's "E-mail me this conversation" control: when it shows, what a click does, and
// the line it shows afterwards. The server e-mails the transcript (`transcript`, docs/protocol.md
// *E-mail*) to the address on the visitor's profile; a visitor who gave none types one into a
// small form, sent as `profile { email }` first (the server checks it). It reaches the network
// only through `ack`, so its unit tests script the server's answers.
import type { Ack } from '../shared/ack';
import type { AckError, Profile, Visitor } from '../shared/types';
import type { Strings } from './i18n';

export interface TranscriptRequests {
  profile: [Profile, { visitor: Visitor }];
  transcript: [{}, {}];
}

/** The line under the control: what happened to the last request. */
export type Note = '' | 'sending' | 'sent' | 'later' | 'failed' | 'badEmail';

/** What the control shows: the text button (`offer`), the address form, and a line (`note`). */
export interface TranscriptView {
  offer: boolean;
  form: boolean;
  /** A request is on its way: the form's button is disabled. */
  busy: boolean;
  note: Note;
  /** The address it went to (`note: 'sent'`). */
  to: string;
}

/** The address check of the widget's forms (the server checks again, and decides). */
export const looksLikeEmail = (s: string) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(s);

export interface TranscriptContext {
  /** The highest `seq` the widget holds: a transcript sent covers the messages up to it. */
  lastSeq(): number;
  /** The profile after the server took the typed address. */
  onVisitor(v: Visitor): void;
  onChange(): void;
}

export class TranscriptControl {
  private step: 'offer' | 'ask' | 'sending' | 'done' = 'offer';
  /** The form was open when the request went out (it stays, disabled, while it is on its way). */
  private asking = false;
  private note: Note = '';
  private to = '';
  /** `lastSeq` when the transcript went out: a newer message brings the button back. */
  private doneAt = 0;
  /** Requests of an earlier identity are not shown (see `reset`). */
  private generation = 0;

  constructor(
    private ack: Ack<TranscriptRequests>,
    private ctx: TranscriptContext,
  ) {}

  /** What to show, or null for nothing: only when the server e-mails transcripts (`enabled`,
   * the session's `site.transcripts`) and the conversation has a message. */
  view(enabled: boolean): TranscriptView | null {
    const last = this.ctx.lastSeq();
    if (!enabled || last < 1) return null;
    const none: TranscriptView = { offer: false, form: false, busy: false, note: '', to: '' };
    switch (this.step) {
      case 'offer':
        return { ...none, offer: true };
      case 'ask':
        return { ...none, form: true, note: this.note };
      case 'sending':
        return { ...none, form: this.asking, busy: true, note: 'sending' };
      case 'done':
        // Messages came after the transcript: it can be asked for again.
        if (last > this.doneAt) return { ...none, offer: true };
        // A failure can be tried again at once; a refusal for the rate waits.
        return { ...none, offer: this.note === 'failed', note: this.note, to: this.to };
    }
  }

  /** The text button: sends at once to the address the visitor gave (`email`), else opens the
   * form. */
  offer(email: string | null | undefined): Promise<void> {
    if (this.step === 'sending') return Promise.resolve();
    if (email) return this.request(null, email);
    this.step = 'ask';
    this.note = '';
    this.ctx.onChange();
    return Promise.resolve();
  }

  /** The form's Send with the address typed. */
  submit(typed: string): Promise<void> {
    if (this.step !== 'ask') return Promise.resolve();
    const email = typed.trim();
    if (!looksLikeEmail(email)) {
      this.note = 'badEmail';
      this.ctx.onChange();
      return Promise.resolve();
    }
    return this.request(email, email);
  }

  /** Forgets everything (another identity's conversation). */
  reset() {
    this.generation++;
    this.step = 'offer';
    this.asking = false;
    this.note = '';
    this.to = '';
    this.doneAt = 0;
  }

  /** `give`: the address to put on the profile first, or null when it is there already. */
  private async request(give: string | null, to: string) {
    const generation = this.generation;
    const current = () => generation === this.generation;
    this.asking = give !== null;
    this.step = 'sending';
    this.ctx.onChange();
    if (give !== null) {
      const p = await this.ack('profile', { email: give });
      if (!current()) return;
      if (!p.ok) {
        this.step = 'ask';
        this.note = p.error.code === 'invalid' ? 'badEmail' : 'failed';
        this.ctx.onChange();
        return;
      }
      this.ctx.onVisitor(p.visitor);
    }
    const sentAt = this.ctx.lastSeq();
    const r = await this.ack('transcript', {});
    if (!current()) return;
    this.step = 'done';
    this.doneAt = sentAt;
    this.to = to;
    this.note = r.ok ? 'sent' : refusal(r.error);
    this.ctx.onChange();
  }
}

/** A refused `transcript`: past the rate the visitor can ask later; anything else (no answer,
 * a server that stopped sending e-mail, ...) is a failure to try again. */
const refusal = (e: AckError): Note => (e.code === 'rate_limited' ? 'later' : 'failed');

/** The note's text in the visitor's language ('' for none). */
export function noteText(v: TranscriptView, t: Strings): string {
  switch (v.note) {
    case 'sending':
      return t.sending;
    case 'sent':
      return t.transcriptSent(v.to);
    case 'later':
      return t.transcriptLater;
    case 'failed':
      return t.transcriptFailed;
    case 'badEmail':
      return t.transcriptBadEmail;
    default:
      return '';
  }
}
