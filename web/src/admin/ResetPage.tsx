// The password-reset page, `/admin/reset/TOKEN`: checks the link an admin passed on, then takes
// the new password; the server's answer is a login, so the agent lands in the inbox.
import { useEffect, useRef, useState } from 'preact/hooks';
import { store } from './store';
import { useStore, AuthCard as Card } from './ui';
import { checkReset, completeReset, lookUpReset, type ResetLookup } from './reset';

export function ResetPage({ token }: { token: string }) {
  const s = useStore();
  const [look, setLook] = useState<ResetLookup | null>(null);
  const [attempt, setAttempt] = useState(0);
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [err, setErr] = useState('');
  const [busy, setBusy] = useState(false);
  const passRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    let live = true;
    setLook(null);
    void lookUpReset(token).then((r) => live && setLook(r));
    return () => {
      live = false;
    };
  }, [token, attempt]);
  useEffect(() => {
    if (look?.state === 'valid') passRef.current?.focus();
  }, [look?.state]);

  if (!look)
    return (
      <Card>
        <p class="sub center" role="status">
          Checking your link…
        </p>
      </Card>
    );

  if (look.state === 'gone')
    return (
      <Card>
        <h1>This link cannot be used</h1>
        <p class="sub">
          The password link has been used already or has expired. Ask an admin of your team for a new one.
        </p>
        <button class="btn primary wide" type="button" onClick={() => store.leaveInvite()}>
          Go to sign in
        </button>
      </Card>
    );

  if (look.state === 'error')
    return (
      <Card>
        <h1>Choose a new password</h1>
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
        const problem = checkReset(password, repeat);
        if (problem) {
          setErr(problem);
          return;
        }
        setBusy(true);
        setErr('');
        const r = await completeReset(token, password);
        setBusy(false);
        if (r.ok) {
          store.leaveInvite();
          store.adopt(r.session, info.username);
        } else if (r.gone) {
          setLook({ state: 'gone' });
        } else {
          setErr(r.message);
        }
      }}
    >
      <h1>Choose a new password</h1>
      <p class="sub">
        For <strong>{info.name}</strong> (@{info.username}){info.siteName ? ` at ${info.siteName}` : ''}. Then you are
        signed in.
      </p>
      {s.token && s.agent && s.agent.username !== info.username && (
        <p class="note">
          You are signed in as {s.agent.name} in this tab. Setting this password signs you in as {info.name} instead.
        </p>
      )}
      {/* for password managers: whose password this is */}
      <input type="text" name="username" autoComplete="username" value={info.username} readOnly hidden />
      <label>
        New password
        <input
          ref={passRef}
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
      <label>
        Repeat the new password
        <input name="repeat" type="password" autoComplete="new-password" value={repeat} onInput={(e) => setRepeat(e.currentTarget.value)} />
      </label>
      {err && (
        <p class="form-error" role="alert">
          {err}
        </p>
      )}
      <button class="btn primary wide" type="submit" disabled={busy}>
        {busy ? 'Saving…' : 'Set password and sign in'}
      </button>
      {!isNaN(+expires) && (
        <p class="fine">
          This link works once and expires {expires.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' })}.
        </p>
      )}
    </Card>
  );
}
