// The address and sender checks of the Settings and Profile pages: the server's rules.
import { describe, expect, test } from 'vitest';
import { emailProblem, looksLikeEmail, senderOf, senderProblem } from './email';

describe('e-mail addresses', () => {
  test('local@domain with a dot in the domain, no spaces, at most 254 characters', () => {
    for (const ok of ['ann@shop.example', ' ann+chat@mail.shop.example ', 'a@b.co']) expect(looksLikeEmail(ok)).toBe(true);
    for (const bad of ['', 'ann', 'ann@shop', '@shop.example', 'ann@@shop.example', 'ann@.example', 'ann@shop.', 'a nn@shop.example'])
      expect(looksLikeEmail(bad)).toBe(false);
    expect(looksLikeEmail(`${'a'.repeat(250)}@b.co`)).toBe(false);
  });

  test('an empty address is no problem (it clears it); a bad one is', () => {
    expect(emailProblem('  ')).toBe('');
    expect(emailProblem('ann@shop.example')).toBe('');
    expect(emailProblem('ann at shop')).toMatch(/e-mail address/);
  });
});

describe('senders', () => {
  test('Name <address> or a bare address; empty is the server’s sender', () => {
    for (const ok of ['', 'Acme Support <support@acme.example>', 'support@acme.example', '<support@acme.example>', 'Acme, Inc. <a@acme.example>'])
      expect(senderProblem(ok)).toBe('');
  });

  test('written as the server stores it: trimmed, the name quoted when it holds a special', () => {
    expect(senderOf(' Shop  <  help@shop.example > ')).toBe('Shop <help@shop.example>');
    expect(senderOf('<help@shop.example>')).toBe('help@shop.example');
    expect(senderOf('Acme, Inc. <a@acme.example>')).toBe('"Acme, Inc." <a@acme.example>');
    expect(senderOf('"Acme, Inc." <a@acme.example>')).toBe('"Acme, Inc." <a@acme.example>');
    expect(senderOf('"Acme" <a@acme.example>')).toBe('Acme <a@acme.example>');
    expect(senderProblem('"Acme, Inc." <a@acme.example>')).toBe('');
  });

  test('a bad address, a name with <, > or ", a long name or two lines are problems', () => {
    expect(senderProblem('Acme')).toMatch(/Name <address@example.com>/);
    expect(senderProblem('Acme <>')).toMatch(/Name <address@example.com>/);
    expect(senderProblem('Acme <a@acme.example')).toMatch(/Name <address@example.com>/);
    expect(senderProblem('a@acme.example, b@acme.example')).toMatch(/Name <address@example.com>/);
    expect(senderProblem('Ac"me <a@acme.example>')).toMatch(/cannot contain/);
    expect(senderProblem('Ac<me <a@acme.example>')).toMatch(/cannot contain/);
    expect(senderProblem('Ac\\me <a@acme.example>')).toMatch(/cannot contain/);
    expect(senderProblem(`${'x'.repeat(101)} <a@acme.example>`)).toMatch(/at most 100/);
    expect(senderProblem('Acme\n<a@acme.example>')).toMatch(/one line/);
  });
});
