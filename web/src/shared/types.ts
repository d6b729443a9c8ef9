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

export interface AckErr {
  ok: false;
  error: { code: string; message: string };
}

export function uid(): string {
  const c = (globalThis as any).crypto;
  if (c && c.randomUUID) return c.randomUUID();
  return 'c' + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
}
