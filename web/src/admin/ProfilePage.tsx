// The Profile page (every agent): who is signed in (name, username, role), the display name
// visitors see, the e-mail address offline messages go to, and the password. A new password
// signs out every other session; this tab goes on with the new token the server answered (the
// store reconnects with it).
import { useEffect, useLayoutEffect, useState } from 'preact/hooks';
import { useStore, Avatar } from './ui';
import { checkPasswordForm, mailChanges, mailFormOf, nameProblem, type MailForm } from './profile';

export function ProfilePage() {
  const s = useStore();
  const me = s.agent;
  return (
    <main class="page profile-page" aria-labelledby="profile-title">
      <div class="page-inner narrow">
        <header class="page-head">
          <div class="page-title">
            <h1 id="profile-title">Profile</h1>
            <p>How you appear to visitors, and how you sign in.</p>
          </div>
          <button class="btn ghost" type="button" onClick={() => s.logout()}>
            Log out
          </button>
        </header>
        {me && (
          <section class="card who-card" aria-label="Signed in as">
            <Avatar seed={me.id} name={me.name} big />
            <div class="who-text">
              <span class="who-name">{me.name}</span>
              <span class="who-user">{me.username ? `@${me.username}` : ''}</span>
              <span class={`tag${me.role === 'admin' ? ' admin' : ''}`}>{me.role === 'admin' ? 'Admin' : 'Agent'}</span>
            </div>
          </section>
        )}
        <NameCard />
        <MailCard />
        <PasswordCard />
      </div>
    </main>
  );
}

function NameCard() {
  const s = useStore();
  const current = s.agent?.name || '';
  const [name, setName] = useState(current);
  const [err, setErr] = useState('');
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  // Another tab or an admin may rename us: follow while nothing is typed here.
  const [base, setBase] = useState(current);
  useEffect(() => {
    if (current !== base) {
      if (name === base) setName(current);
      setBase(current);
    }
  }, [current]);
  const changed = name.trim() !== current;
  return (
    <form
      class="card form-card"
      aria-labelledby="name-title"
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        const problem = nameProblem(name);
        setDone(false);
        if (problem) return setErr(problem);
        setErr('');
        setBusy(true);
        const refusal = await s.changeProfile({ name: name.trim() });
        setBusy(false);
        if (refusal) setErr(refusal);
        else {
          setName(name.trim());
          setDone(true);
        }
      }}
    >
      <h2 id="name-title">Your name</h2>
      <label>
        <span class="hint">Visitors see it beside your replies.</span>
        <input
          name="displayName"
          aria-label="Display name"
          autoComplete="name"
          maxLength={100}
          value={name}
          onInput={(e) => {
            setName(e.currentTarget.value);
            setDone(false);
          }}
        />
      </label>
      <div class="form-actions">
        <button class="btn primary" type="submit" disabled={busy || !changed}>
          {busy ? 'Saving…' : 'Save name'}
        </button>
        {err ? (
          <p class="form-error" role="alert">
            {err}
          </p>
        ) : (
          done && (
            <p class="saved" role="status">
              Saved. Your next messages carry the new name.
            </p>
          )
        )}
      </div>
    </form>
  );
}

function MailCard() {
  const s = useStore();
  const model = s.mail;
  const current = model.current;
  const [form, setForm] = useState<MailForm | null>(null);
  useEffect(() => {
    if (!current && !model.loading && s.connected) void model.load();
  }, []);
  // The form shows what the server holds, again after every save.
  useLayoutEffect(() => {
    if (current) setForm(mailFormOf(current));
  }, [current]);
  const dirty = !!(current && form && Object.keys(mailChanges(current, form)).length);
  const update = (patch: Partial<MailForm>) => form && setForm({ ...form, ...patch });
  return (
    <form
      class="card form-card"
      aria-labelledby="mail-title"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        if (form) void model.save(form);
      }}
    >
      <h2 id="mail-title">E-mail</h2>
      {model.error ? (
        <div class="form-error with-action" role="alert">
          <span>Could not load your e-mail settings: {model.error}</span>
          <button class="link" type="button" onClick={() => void model.load()}>
            Try again
          </button>
        </div>
      ) : !form ? (
        <p class="hint">{s.connected ? 'Loading…' : 'Connecting…'}</p>
      ) : (
        <>
          <label>
            Your e-mail address
            <input
              name="email"
              type="email"
              autoComplete="email"
              maxLength={254}
              spellcheck={false}
              autoCapitalize="none"
              placeholder="you@example.com"
              value={form.email}
              onInput={(e) => update({ email: e.currentTarget.value })}
            />
            <span class="field-hint">Visitors never see it. Empty: no e-mail to you.</span>
          </label>
          <label class="check">
            <input
              type="checkbox"
              name="offlineEmails"
              checked={form.offlineEmails}
              onChange={(e) => update({ offlineEmails: e.currentTarget.checked })}
            />
            E-mail me visitor messages that arrive while no agent is online
          </label>
          <div class="form-actions">
            <button class="btn primary" type="submit" disabled={model.saving || !dirty}>
              {model.saving ? 'Saving…' : 'Save e-mail settings'}
            </button>
            {model.saveError ? (
              <p class="form-error" role="alert">
                {model.saveError}
              </p>
            ) : (
              model.savedAt > 0 &&
              !dirty && (
                <p class="saved" role="status">
                  Saved.
                </p>
              )
            )}
          </div>
        </>
      )}
    </form>
  );
}

function PasswordCard() {
  const s = useStore();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [err, setErr] = useState('');
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  return (
    <form
      class="card form-card"
      aria-labelledby="password-title"
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        setDone(false);
        const problem = checkPasswordForm({ current, next, repeat });
        if (problem) return setErr(problem);
        setErr('');
        setBusy(true);
        const refusal = await s.changeProfile({ currentPassword: current, newPassword: next });
        setBusy(false);
        if (refusal) {
          setErr(refusal);
          return;
        }
        setCurrent('');
        setNext('');
        setRepeat('');
        setDone(true);
      }}
    >
      <h2 id="password-title">Password</h2>
      <p class="hint">Changing it signs you out everywhere else: other browsers and devices. You stay signed in here.</p>
      {/* for password managers: whose password this is */}
      <input type="text" name="username" autoComplete="username" value={s.agent?.username || ''} readOnly hidden />
      <label>
        Current password
        <input name="currentPassword" type="password" autoComplete="current-password" value={current} onInput={(e) => setCurrent(e.currentTarget.value)} />
      </label>
      <label>
        New password
        <input
          name="newPassword"
          type="password"
          autoComplete="new-password"
          aria-describedby="new-password-hint"
          value={next}
          onInput={(e) => setNext(e.currentTarget.value)}
        />
        <span id="new-password-hint" class="field-hint">
          At least 8 characters.
        </span>
      </label>
      <label>
        Repeat the new password
        <input name="repeatPassword" type="password" autoComplete="new-password" value={repeat} onInput={(e) => setRepeat(e.currentTarget.value)} />
      </label>
      <div class="form-actions">
        <button class="btn primary" type="submit" disabled={busy}>
          {busy ? 'Changing…' : 'Change password'}
        </button>
        {err ? (
          <p class="form-error" role="alert">
            {err}
          </p>
        ) : (
          done && (
            <p class="saved" role="status">
              Password changed. Other sessions are signed out.
            </p>
          )
        )}
      </div>
    </form>
  );
}
