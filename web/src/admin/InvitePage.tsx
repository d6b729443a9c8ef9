// The invitation sign-up page, `/admin/invite/TOKEN`: checks the link, then takes the new
// agent's name, username and password; the server's answer is a login, so the new agent lands
// in the inbox.
import { useEffect, useRef, useState } from 'preact/hooks';
import { store } from './store';
import { useStore, AuthCard as Card } from './ui';
import { accept, checkSignUp, lookUp, type Lookup } from './invite';

export function InvitePage({ token }: { token: string }) {
  const s = useStore();
  const [look, setLook] = useState<Lookup | null>(null);
  const [attempt, setAttempt] = useState(0);
  const [name, setName] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [err, setErr] = useState('');
  const [busy, setBusy] = useState(false);
  const nameRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    let live = true;
    setLook(null);
    void lookUp(token).then((r) => live && setLook(r));
    return () => {
      live = false;
    };
  }, [token, attempt]);
  useEffect(() => {
    if (look?.state === 'valid') nameRef.current?.focus();
  }, [look?.state]);

  if (!look)
    return (
      <Card>
        <p class="sub center" role="status">
          Checking your invitation…
        </p>
      </Card>
    );

  if (look.state === 'gone')
    return (
      <Card>
        <h1>This invitation cannot be used</h1>
        <p class="sub">
          The link has been used already or has expired. Ask an admin of your team for a new one.
        </p>
        <button class="btn primary wide" type="button" onClick={() => store.leaveInvite()}>
          Go to sign in
        </button>
      </Card>
    );

  if (look.state === 'error')
    return (
      <Card>
        <h1>Join your team</h1>
        <p class="form-error" role="alert">
          {look.message}
        </p>
        <button class="btn primary wide" type="button" onClick={() => setAttempt(attempt + 1)}>
          Try again
        </button>
      </Card>
    );

  const info = look.info;
  const expires = new Date(info.expiresAt);
  return (
    <Card
      onSubmit={async () => {
        const problem = checkSignUp({ name, username, password });
        if (problem) {
          setErr(problem);
          return;
        }
        setBusy(true);
        setErr('');
        const r = await accept(token, { name, username, password });
        setBusy(false);
        if (r.ok) {
          store.leaveInvite();
          store.adopt(r.session, username.trim());
        } else if (r.gone) {
          setLook({ state: 'gone' });
        } else {
          setErr(r.message);
        }
      }}
    >
      <h1>Join {info.siteName}</h1>
      <p class="sub">
        You were invited to answer chats {info.role === 'admin' ? 'and manage the team, as an admin' : 'as an agent'}. Choose
        how you will sign in.
      </p>
      {s.token && s.agent && (
        <p class="note">
          You are signed in as {s.agent.name} in this tab. Creating this account signs you in as the new one instead.
        </p>
      )}
      <label>
        Your name
        <input ref={nameRef} name="name" autoComplete="name" maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label>
        Username
        <input
          name="username"
          autoComplete="username"
          autoCapitalize="none"
          spellcheck={false}
          maxLength={64}
          value={username}
          onInput={(e) => setUsername(e.currentTarget.value)}
        />
      </label>
      <label>
        Password
        <input
          name="password"
          type="password"
          autoComplete="new-password"
          aria-describedby="password-hint"
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
        <span id="password-hint" class="field-hint">
          At least 8 characters.
        </span>
      </label>
      {err && (
        <p class="form-error" role="alert">
          {err}
        </p>
      )}
      <button class="btn primary wide" type="submit" disabled={busy}>
        {busy ? 'Creating your account…' : 'Create account'}
      </button>
      {!isNaN(+expires) && (
        <p class="fine">
          This link works once and expires {expires.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' })}.
        </p>
      )}
    </Card>
  );
}
