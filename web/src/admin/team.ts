// The Team page's model (admins only): the site's agents as `team` lists them, the changes an
// admin makes to them (`setRole`, `setDisabled`, `removeAgent`) and invitation links (`invite`).
// The server decides every rule (who may, the last enabled admin); this keeps what it answered
// and shows each refusal next to the agent it was about. It reaches the network only through
// a typed `ack`, so its unit tests (team.test.ts) script the server's answers.
import type { Ack } from '../shared/ack';
import type { AckError } from '../shared/types';

export type Role = 'admin' | 'agent';

/** One agent of the site, as the admin operations answer it. */
export interface Member {
  id: string;
  username: string;
  name: string;
  role: Role;
  disabled: boolean;
  /** Whether the agent has a dashboard open (kept live by `agentPresence`); absent from a
   * server that does not say. */
  online?: boolean;
}

export interface Invitation {
  url: string;
  role: Role;
  expiresAt: string;
}

/** The admin requests over `/agent`: event -> [payload, the ack's fields besides `ok`]. */
export interface AdminRequests {
  team: [{}, { agents: Member[] }];
  setRole: [{ agentId: string; role: Role }, { agent: Member }];
  setDisabled: [{ agentId: string; disabled: boolean }, { agent: Member }];
  removeAgent: [{ agentId: string }, {}];
  invite: [{ role?: Role }, { invitation: Invitation }];
  resetPassword: [{ agentId: string }, { reset: Invitation }];
}

export interface TeamOptions {
  /** Called after every change of what the page shows. */
  onChange?: () => void;
  /** Called when the server answered a member that is the logged-in agent (a new role). */
  onSelf?: (m: Member) => void;
  /** The logged-in agent's id. */
  me?: () => string | undefined;
}

export class Team {
  members: Member[] = [];
  loaded = false;
  loading = false;
  /** Why the list could not be loaded ('' when it was). */
  error = '';
  /** Agents with a change in flight: their buttons wait. */
  busy = new Set<string>();
  /** The last refusal per agent, shown on its row until its next change. */
  errors = new Map<string, string>();
  invitation: Invitation | null = null;
  /** Password-reset links made on this page, by agent, shown on its row until closed. */
  resets = new Map<string, Invitation>();
  inviting = false;
  inviteError = '';
  /** Bumped by `reset`, so that answers to requests of an earlier session are dropped. */
  private epoch = 0;
  /** `agentPresence` events that came while the list was being read: they are newer than or as
   * new as the list the server answers, and are applied over it. */
  private seen = new Map<string, boolean>();

  constructor(
    private ack: Ack<AdminRequests>,
    private opts: TeamOptions = {},
  ) {}

  private changed() {
    this.opts.onChange?.();
  }

  /** Forgets everything (logout). */
  reset() {
    this.epoch++;
    this.members = [];
    this.loaded = this.loading = false;
    this.error = this.inviteError = '';
    this.busy.clear();
    this.errors.clear();
    this.invitation = null;
    this.resets.clear();
    this.inviting = false;
    this.seen.clear();
    this.changed();
  }

  /** An agent came online or went offline (`agentPresence`). */
  presence(agentId: string, online: boolean) {
    if (this.loading) this.seen.set(agentId, online);
    const m = this.member(agentId);
    if (!m || m.online === online) return;
    this.members = this.members.map((x) => (x.id === agentId ? { ...x, online } : x));
    this.changed();
  }

  /** (Re)reads the list. Refusals of earlier changes stay shown for agents still listed. */
  async load(): Promise<void> {
    if (this.loading) return;
    const epoch = this.epoch;
    this.loading = true;
    this.seen.clear();
    this.changed();
    const r = await this.ack('team', {});
    if (epoch !== this.epoch) return;
    this.loading = false;
    if (r.ok) {
      const seen = this.seen;
      this.members = r.agents.map((m) => (seen.has(m.id) ? { ...m, online: seen.get(m.id) } : m));
      this.seen = new Map();
      this.loaded = true;
      this.error = '';
      const ids = new Set(r.agents.map((m) => m.id));
      for (const id of [...this.errors.keys()]) if (!ids.has(id)) this.errors.delete(id);
    } else {
      this.error = errorText(r.error);
    }
    this.changed();
  }

  member(id: string): Member | undefined {
    return this.members.find((m) => m.id === id);
  }

  /** Enabled admins in the list (a site must keep one; the server enforces it). */
  enabledAdmins(): number {
    return this.members.filter((m) => m.role === 'admin' && !m.disabled).length;
  }

  setRole(agentId: string, role: Role): Promise<boolean> {
    return this.change(agentId, () => this.ack('setRole', { agentId, role }));
  }

  setDisabled(agentId: string, disabled: boolean): Promise<boolean> {
    return this.change(agentId, () => this.ack('setDisabled', { agentId, disabled }));
  }

  remove(agentId: string): Promise<boolean> {
    return this.change(agentId, () => this.ack('removeAgent', { agentId }), true);
  }

  /** Takes the agent's password away (its sessions end) and keeps the one-time link that lets
   * it choose a new one, for the admin to pass on. */
  async resetPassword(agentId: string): Promise<boolean> {
    let reset: Invitation | undefined;
    this.resets.delete(agentId);
    const ok = await this.change(agentId, async () => {
      const r = await this.ack('resetPassword', { agentId });
      if (r.ok) reset = r.reset;
      return r;
    });
    if (ok && reset) {
      this.resets.set(agentId, reset);
      this.changed();
    }
    return ok;
  }

  /** Hides a reset link shown on an agent's row. */
  clearReset(agentId: string) {
    if (this.resets.delete(agentId)) this.changed();
  }

  /** One change of one agent at a time; answers whether the server took it. */
  private async change(
    agentId: string,
    send: () => Promise<{ ok: true; agent?: Member } | { ok: false; error: AckError }>,
    removes = false,
  ): Promise<boolean> {
    if (this.busy.has(agentId)) return false;
    const epoch = this.epoch;
    this.busy.add(agentId);
    this.errors.delete(agentId);
    this.changed();
    const r = await send();
    if (epoch !== this.epoch) return false;
    this.busy.delete(agentId);
    if (r.ok) {
      if (removes) this.members = this.members.filter((m) => m.id !== agentId);
      else if (r.agent) this.put(r.agent);
      this.changed();
      return true;
    }
    this.errors.set(agentId, errorText(r.error));
    // The agent was removed meanwhile (by another admin or the CLI): show the list as it is.
    if (r.error.code === 'not_found') void this.load();
    this.changed();
    return false;
  }

  private put(m: Member) {
    const i = this.members.findIndex((x) => x.id === m.id);
    if (i >= 0) this.members = [...this.members.slice(0, i), m, ...this.members.slice(i + 1)];
    else this.members = [...this.members, m];
    if (m.id === this.opts.me?.()) this.opts.onSelf?.(m);
  }

  /** Makes a one-time sign-up link for a new agent of `role`. */
  async invite(role: Role): Promise<boolean> {
    if (this.inviting) return false;
    const epoch = this.epoch;
    this.inviting = true;
    this.inviteError = '';
    this.invitation = null;
    this.changed();
    const r = await this.ack('invite', { role });
    if (epoch !== this.epoch) return false;
    this.inviting = false;
    if (r.ok) this.invitation = r.invitation;
    else this.inviteError = errorText(r.error);
    this.changed();
    return r.ok;
  }

  clearInvitation() {
    this.invitation = null;
    this.inviteError = '';
    this.changed();
  }
}

/** A refusal as the page shows it: the server's own message as a sentence, with a hint where
 * the code calls for one. */
export function errorText(e: AckError): string {
  switch (e.code) {
    case 'timeout':
      return 'No answer from the server. Try again.';
    case 'offline':
      return 'Not connected. Try again when the connection is back.';
    case 'forbidden':
      return `${sentence(e.message || 'only an admin of the site may do this')} If your role was changed, log in again.`;
    case 'not_found':
      return 'This agent no longer exists.';
    default:
      return sentence(e.message || e.code);
  }
}

/** "the site must keep ..." -> "The site must keep ....". */
export function sentence(s: string): string {
  const t = s.trim();
  if (!t) return t;
  const first = t[0]!.toUpperCase() + t.slice(1);
  return /[.!?]$/.test(first) ? first : first + '.';
}

/** "in 7 days", "in 5 hours", "in 3 minutes", "expired": how long until `iso`, for people. */
export function timeUntil(iso: string, now = Date.now()): string {
  const ms = Date.parse(iso) - now;
  if (isNaN(ms)) return '';
  if (ms <= 0) return 'expired';
  const min = Math.round(ms / 60e3);
  const plural = (n: number, w: string) => `in ${n} ${w}${n === 1 ? '' : 's'}`;
  if (min < 60) return plural(Math.max(1, min), 'minute');
  const h = Math.round(ms / 3600e3);
  if (h < 48) return plural(h, 'hour');
  return plural(Math.round(ms / 864e5), 'day');
}
