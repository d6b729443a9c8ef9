// The address of one conversation in the dashboard, `/admin/conversations/ID`: the link an
// offline-message e-mail carries (docs/protocol.md, *E-mail*). Opening it shows the inbox with
// that conversation selected.

const PATH = /^\/admin\/conversations\/([A-Za-z0-9_-]{1,64})\/?$/;

/** The conversation an address names, `null` for any other path. */
export function linkedConversation(pathname: string): string | null {
  const m = PATH.exec(pathname);
  return m ? m[1]! : null;
}
