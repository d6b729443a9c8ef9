// The Team page (admins): the site's agents, their role and state, removal, and invitation
// links. Every change goes to the server (`team.ts`), which decides; its refusals show on the
// row they are about.
import { useEffect, useRef, useState } from 'preact/hooks';
import { store } from './store';
import { useStore, useCopy, Avatar } from './ui';
import { timeUntil, type Invitation, type Member, type Role } from './team';

type Action = 'remove' | 'disable' | 'demote' | 'reset';
interface Pending {
  id: string;
  action: Action;
}

export function TeamPage() {
  const s = useStore();
  const team = s.team;
  const [inviteOpen, setInviteOpen] = useState(false);
  const [confirm, setConfirm] = useState<Pending | null>(null);
  const me = s.agent?.id;

  useEffect(() => {
    // Before the session is open the store loads the list when it opens.
    if (!team.loaded && s.connected) void team.load();
    // No event tells of changes made elsewhere (another admin, the CLI, an invitation
    // accepted): read the list again now and then while the page is shown.
    const t = setInterval(() => store.connected && !document.hidden && void team.load(), 30000);
    return () => clearInterval(t);
  }, []);

  const admins = team.members.filter((m) => m.role === 'admin').length;
  const disabled = team.members.filter((m) => m.disabled).length;

  /** Runs `action` at once, or after a confirmation where it cannot be undone or locks you out. */
  const ask = (m: Member, action: Action, run: () => void) => {
    const needs = action === 'remove' || action === 'reset' || (m.id === me && (action === 'disable' || action === 'demote'));
    if (needs) setConfirm({ id: m.id, action });
    else run();
  };

  return (
    <main class="page team-page" aria-labelledby="team-title">
      <div class="page-inner">
        <header class="page-head">
          <div class="page-title">
            <h1 id="team-title">Team</h1>
            <p>
              {team.loaded
                ? `${plural(team.members.length, 'person', 'people')} · ${plural(admins, 'admin')}${disabled ? ` · ${disabled} disabled` : ''}`
                : 'Who answers your visitors, and who manages the team.'}
            </p>
          </div>
          <button
            class={`btn ${inviteOpen ? 'ghost' : 'primary'}`}
            type="button"
            aria-expanded={inviteOpen}
            aria-controls="invite-panel"
            onClick={() => setInviteOpen(!inviteOpen)}
          >
            {inviteOpen ? 'Close' : 'Invite'}
          </button>
        </header>

        {inviteOpen && <InvitePanel />}

        {team.error && (
          <div class="form-error with-action" role="alert">
            <span>Could not load the team: {team.error}</span>
            <button class="link" type="button" onClick={() => void team.load()}>
              Try again
            </button>
          </div>
        )}

        <section class="card" aria-label="Agents">
          {!team.loaded && !team.error && <p class="card-empty">{s.connected ? 'Loading the team…' : 'Connecting…'}</p>}
          {team.loaded && !team.members.length && <p class="card-empty">No agents yet. Invite someone to get started.</p>}
          {team.members.length > 0 && (
            <ul class="members">
              {team.members.map((m) => (
                <MemberRow
                  key={m.id}
                  m={m}
                  self={m.id === me}
                  busy={team.busy.has(m.id)}
                  error={team.errors.get(m.id) || ''}
                  confirming={confirm && confirm.id === m.id ? confirm.action : null}
                  onPromote={() => void team.setRole(m.id, 'admin')}
                  onDemote={() => ask(m, 'demote', () => void team.setRole(m.id, 'agent'))}
                  onDisabled={(d) => (d ? ask(m, 'disable', () => void team.setDisabled(m.id, true)) : void team.setDisabled(m.id, false))}
                  onRemove={() => ask(m, 'remove', () => void team.remove(m.id))}
                  onReset={() => ask(m, 'reset', () => void team.resetPassword(m.id))}
                  reset={team.resets.get(m.id) || null}
                  onCloseReset={() => team.clearReset(m.id)}
                  onConfirm={() => {
                    const c = confirm;
                    setConfirm(null);
                    if (!c) return;
                    if (c.action === 'remove') void team.remove(c.id);
                    else if (c.action === 'reset') void team.resetPassword(c.id);
                    else if (c.action === 'disable') void team.setDisabled(c.id, true);
                    else void team.setRole(c.id, 'agent');
                  }}
                  onCancel={() => setConfirm(null)}
                />
              ))}
            </ul>
          )}
        </section>
        <p class="page-note">
          Admins manage the team; agents answer chats. A site always keeps at least one enabled admin. Removed agents
          can no longer log in; their messages stay, with their name.
        </p>
      </div>
    </main>
  );
}

function MemberRow(p: {
  m: Member;
  self: boolean;
  busy: boolean;
  error: string;
  confirming: Action | null;
  onPromote: () => void;
  onDemote: () => void;
  onDisabled: (d: boolean) => void;
  onRemove: () => void;
  onReset: () => void;
  reset: Invitation | null;
  onCloseReset: () => void;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const { m, self, busy } = p;
  const confirmRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (p.confirming) confirmRef.current?.focus();
  }, [p.confirming]);
  return (
    <li class={`member${m.disabled ? ' disabled' : ''}`} data-username={m.username} aria-busy={busy}>
      <div class="member-main">
        <Avatar seed={m.id} name={m.name} online={m.online} />
        <div class="member-who">
          <span class="member-name">
            <span class="member-name-text">{m.name}</span>
            {self && <span class="tag">You</span>}
            {m.disabled && <span class="tag warn">Disabled</span>}
          </span>
          <span class="member-sub">
            <span class="member-user">@{m.username}</span>
            {m.online !== undefined && <span class={`presence${m.online ? ' on' : ''}`}>{m.online ? 'Online' : 'Offline'}</span>}
          </span>
        </div>
      </div>
      <div class="member-actions">
        <div class="seg" role="group" aria-label={`Role of ${m.name}`}>
          <button
            type="button"
            class={m.role === 'admin' ? 'on' : ''}
            aria-pressed={m.role === 'admin'}
            disabled={busy}
            onClick={() => m.role !== 'admin' && p.onPromote()}
          >
            Admin
          </button>
          <button
            type="button"
            class={m.role === 'agent' ? 'on' : ''}
            aria-pressed={m.role === 'agent'}
            disabled={busy}
            onClick={() => m.role !== 'agent' && p.onDemote()}
          >
            Agent
          </button>
        </div>
        <button class="btn ghost sm" type="button" disabled={busy} onClick={() => p.onDisabled(!m.disabled)}>
          {m.disabled ? 'Enable' : 'Disable'}
        </button>
        <button class="btn danger-ghost sm" type="button" disabled={busy} onClick={p.onRemove}>
          Remove
        </button>
        {!self && (
          <button class="btn ghost sm" type="button" disabled={busy} onClick={p.onReset}>
            Reset password
          </button>
        )}
      </div>
      {p.confirming && (
        <div class="member-confirm" role="group" aria-label="Confirm">
          <p>{confirmText(m, self, p.confirming)}</p>
          <div class="confirm-buttons">
            <button class="btn ghost sm" type="button" onClick={p.onCancel}>
              Cancel
            </button>
            <button ref={confirmRef} class="btn danger sm" type="button" onClick={p.onConfirm}>
              {p.confirming === 'remove'
                ? `Remove ${m.name}`
                : p.confirming === 'reset'
                  ? 'Reset password'
                  : p.confirming === 'disable'
                    ? 'Disable my account'
                    : 'Make me an agent'}
            </button>
          </div>
        </div>
      )}
      {p.reset && <ResetLink m={m} reset={p.reset} onClose={p.onCloseReset} />}
      {p.error && (
        <p class="form-error" role="alert">
          {p.error}
        </p>
      )}
    </li>
  );
}

/** The one-time link that lets an agent choose a new password, for the admin to pass on. */
function ResetLink({ m, reset, onClose }: { m: Member; reset: Invitation; onClose: () => void }) {
  const ref = useRef<HTMLInputElement>(null);
  const [copied, copy] = useCopy();
  useEffect(() => ref.current?.select(), [reset.url]);
  return (
    <div class="member-reset">
      <label>
        Password link for {m.name}
        <span class="copy-row">
          <input ref={ref} class="reset-url" readOnly value={reset.url} onFocus={(e) => e.currentTarget.select()} />
          <button class="btn ghost" type="button" onClick={() => void copy(reset.url, ref.current)}>
            {copied ? 'Copied' : 'Copy'}
          </button>
          <button class="btn ghost" type="button" onClick={onClose}>
            Done
          </button>
        </span>
      </label>
      <p class="hint" role="status">
        Send it to {m.name}: it lets them choose a new password, once. Expires{' '}
        <time dateTime={reset.expiresAt}>{new Date(reset.expiresAt).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' })}</time>
        {timeUntil(reset.expiresAt) && ` (${timeUntil(reset.expiresAt)})`}.
      </p>
    </div>
  );
}

function confirmText(m: Member, self: boolean, action: Action): string {
  if (action === 'reset')
    return `Reset the password of ${m.name} (@${m.username})? They are signed out at once and cannot log in until they choose a new password with the link you get.`;
  if (action === 'remove')
    return self
      ? 'Remove your own account? You will be signed out and cannot log in again. Your messages keep your name.'
      : `Remove ${m.name} (@${m.username})? They are signed out and cannot log in again. Their messages keep their name.`;
  if (action === 'disable') return 'Disable your own account? You will be signed out at once.';
  return 'Make yourself a plain agent? You will no longer see this page.';
}

function InvitePanel() {
  const s = useStore();
  const team = s.team;
  const [role, setRole] = useState<Role>('agent');
  const [copied, setCopied] = useState(false);
  const linkRef = useRef<HTMLInputElement>(null);
  const inv = team.invitation;

  useEffect(() => {
    if (!copied) return;
    const t = setTimeout(() => setCopied(false), 2000);
    return () => clearTimeout(t);
  }, [copied]);
  useEffect(() => {
    if (inv) linkRef.current?.select();
  }, [inv]);
  // A link shown once is not shown again when the panel is opened later.
  useEffect(() => () => team.clearInvitation(), []);

  const copy = async () => {
    if (!inv) return;
    try {
      await navigator.clipboard.writeText(inv.url);
      setCopied(true);
    } catch {
      // No clipboard API (or no permission): copy the selected text the old way.
      const el = linkRef.current;
      el?.select();
      setCopied(!!el && document.execCommand('copy'));
    }
  };

  return (
    <section id="invite-panel" class="card invite" aria-labelledby="invite-title">
      <h2 id="invite-title">Invite someone</h2>
      <p class="hint">
        Create a one-time link and send it the way you like. The person opening it chooses their name, username and
        password.
      </p>
      <div class="invite-row">
        <div class="seg" role="group" aria-label="Role of the new member">
          {(['agent', 'admin'] as Role[]).map((r) => (
            <button key={r} type="button" class={role === r ? 'on' : ''} aria-pressed={role === r} onClick={() => setRole(r)}>
              {r === 'agent' ? 'Agent' : 'Admin'}
            </button>
          ))}
        </div>
        <button class="btn primary" type="button" disabled={team.inviting} onClick={() => void team.invite(role)}>
          {team.inviting ? 'Creating…' : inv ? 'Create another link' : 'Create link'}
        </button>
      </div>
      {team.inviteError && (
        <p class="form-error" role="alert">
          {team.inviteError}
        </p>
      )}
      {inv && (
        <div class="invite-result">
          <label>
            Invitation link for a new {inv.role}
            <span class="copy-row">
              <input ref={linkRef} class="invite-url" readOnly value={inv.url} onFocus={(e) => e.currentTarget.select()} />
              <button class="btn ghost" type="button" onClick={() => void copy()}>
                {copied ? 'Copied' : 'Copy'}
              </button>
            </span>
          </label>
          <p class="hint" role="status">
            Works once. Expires <time dateTime={inv.expiresAt}>{new Date(inv.expiresAt).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' })}</time>
            {timeUntil(inv.expiresAt) && ` (${timeUntil(inv.expiresAt)})`}.
          </p>
        </div>
      )}
    </section>
  );
}

function plural(n: number, one: string, many = one + 's') {
  return `${n} ${n === 1 ? one : many}`;
}
