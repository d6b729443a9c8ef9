import { describe, expect, test } from 'vitest';
import { linkedConversation } from './conversation-link';

describe('linkedConversation', () => {
  test('names the conversation of an e-mail link', () => {
    expect(linkedConversation('/admin/conversations/0193abcdef')).toBe('0193abcdef');
    expect(linkedConversation('/admin/conversations/0193abcdef/')).toBe('0193abcdef');
  });
  test('any other address names none', () => {
    expect(linkedConversation('/admin')).toBeNull();
    expect(linkedConversation('/admin/conversations/')).toBeNull();
    expect(linkedConversation('/admin/conversations/a/b')).toBeNull();
    expect(linkedConversation('/admin/conversations/<script>')).toBeNull();
  });
});
