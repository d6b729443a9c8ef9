// E-mail addresses and senders as the server takes them (docs/protocol.md "Site settings" and
// "An agent's own profile"), checked here so that most mistakes show before asking it.

export const MAX_EMAIL = 254;
export const MAX_SENDER_NAME = 100;

const len = (s: string) => [...s].length;

/** Whether `raw` (trimmed) looks like an e-mail address by the server's rule: `local@domain`
 * with a dot inside the domain, no spaces, at most 254 characters. */
export function looksLikeEmail(raw: string): boolean {
  const email = raw.trim();
  // eslint-disable-next-line no-control-regex
  if (!email || len(email) > MAX_EMAIL || /[\s\u0000-\u001f\u007f-\u009f]/.test(email)) return false;
  const at = email.indexOf('@');
  if (at <= 0) return false;
  const domain = email.slice(at + 1);
  return !domain.includes('@') && domain.includes('.') && !domain.startsWith('.') && !domain.endsWith('.');
}

/** The problem with an optional address ('' when it is empty or fine). */
export function emailProblem(raw: string): string {
  if (!raw.trim() || looksLikeEmail(raw)) return '';
  return 'Enter an e-mail address like name@example.com, or leave it empty.';
}

/** A sender's name and address as written: `Name <address>` (the name may be quoted), else
 * the whole text as the address with no name. */
export function senderParts(raw: string): { name: string; address: string } {
  const s = raw.trim();
  const m = /^(.*)<([^<>]*)>$/.exec(s);
  if (!m) return { name: '', address: s };
  let name = m[1]!.trim();
  if (name.length >= 2 && name.startsWith('"') && name.endsWith('"')) name = name.slice(1, -1).trim();
  return { name, address: m[2]!.trim() };
}

/** The characters a display name may hold only within quotes (RFC 5322 specials). */
const SPECIALS = /[()[\]:;@,]/;

/** A sender as the server stores it: `Name <address>`, `"Name" <address>` when the name holds
 * one of `()[]:;@,`, or the address. */
export function senderOf(raw: string): string {
  const { name, address } = senderParts(raw);
  if (!name) return address;
  return SPECIALS.test(name) ? `"${name}" <${address}>` : `${name} <${address}>`;
}

/** The problem with a sender, `Name <address>` or an address ('' when empty or fine). */
export function senderProblem(raw: string): string {
  const s = raw.trim();
  if (!s) return '';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(s)) return 'The sender must be on one line.';
  const { name, address } = senderParts(s);
  if (len(name) > MAX_SENDER_NAME) return `The sender's name can have at most ${MAX_SENDER_NAME} characters.`;
  if (/[<>"\\]/.test(name)) return 'The sender’s name cannot contain <, >, " or \\.';
  if (/[<>",;:()[\]\\]/.test(address) || !looksLikeEmail(address))
    return 'Enter the sender as Name <address@example.com> or just an address, or leave it empty.';
  return '';
}
