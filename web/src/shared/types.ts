export type Sender = 'visitor' | 'agent' | 'system';

export interface Message {
  id: string;
  conversationId: string;
  seq: number;
  sender: Sender;
  agentName: string | null;
  text: string;
  clientId: string | null;
  createdAt: string;
  /** The files the message carries, `[]` when none (docs/protocol.md, *Files*); absent from
   * servers older than files. */
  attachments?: Attachment[];
}

/** A file as uploaded, and as messages carry it. `url` and `thumbnailUrl` are signed paths on
 * the Parlor server, valid for 10 minutes from the moment the payload was made. */
export interface Attachment {
  id: string;
  name: string;
  size: number;
  contentType: string;
  width?: number;
  height?: number;
  url: string;
  thumbnailUrl?: string;
}

export interface Visitor {
  id: string;
  name: string | null;
  email: string | null;
  phone: string | null;
  createdAt?: string;
}

export interface Summary {
  id: string;
  visitor: Visitor;
  status: 'open' | 'ended';
  online: boolean;
  page: { url: string; title?: string | null } | null;
  lastMessage: Message | null;
  unread: number;
  updatedAt: string;
  createdAt?: string;
}

export type Profile = { name?: string; email?: string; phone?: string };

/** A page of `sync` or `history`, ascending by `seq`; `hasMore`: more follow in that direction. */
export interface Page {
  messages: Message[];
  hasMore: boolean;
}

/** `code` is a protocol code (`invalid`, `not_found`, `rate_limited`, ...) or, made up by the
 * client, `timeout` (no ack in time) and `offline` (no socket to ask). */
export interface AckError {
  code: string;
  message: string;
}
export type AckResult<T> = ({ ok: true } & T) | { ok: false; error: AckError };

// Request events, each as [payload, what an `ok: true` ack carries besides `ok`].

/** The requests about one conversation's messages, as `/visitor` names them (its own). */
export interface ThreadRequests {
  send: [{ clientId: string; text: string; attachments?: string[] }, { message: Message }];
  history: [{ beforeSeq: number; limit?: number }, Page];
  sync: [{ afterSeq: number }, Page];
  read: [{ seq: number }, {}];
}
export interface VisitorRequests extends ThreadRequests {
  profile: [Profile, { visitor: Visitor }];
  page: [{ url: string; title?: string }, {}];
  /** E-mails the whole conversation to the visitor's address (docs/protocol.md, *E-mail*). */
  transcript: [{}, {}];
}
/** `/agent` names the conversation in every request about one. */
type Scoped<T> = { [E in keyof T]: T[E] extends [infer P, infer R] ? [P & { conversationId: string }, R] : never };
export interface AgentRequests extends Scoped<ThreadRequests> {
  list: [
    { before?: string; limit?: number; status?: 'open' | 'ended' },
    { conversations: Summary[]; hasMore: boolean },
  ];
  end: [{ conversationId: string }, { conversation?: Summary }];
  transcript: [{ conversationId: string }, {}];
}

export function uid(): string {
  const c = (globalThis as any).crypto;
  if (c && c.randomUUID) return c.randomUUID();
  return 'c' + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
}
