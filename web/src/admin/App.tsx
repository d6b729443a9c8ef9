import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { store, displayName, messageText, type Filter, type View } from './store';
import { Avatar, ChatIcon, useStore } from './ui';
import { TeamPage } from './TeamPage';
import { InvitePage } from './InvitePage';
import { ResetPage } from './ResetPage';
import { SettingsPage } from './SettingsPage';
import { ProfilePage } from './ProfilePage';
import { splitLinks } from '../shared/links';
import type { Attachment, Message, Summary } from '../shared/types';
import { formatSize, isImage, openAttachment, reloadThumbnail, thumbSize } from '../shared/files';
import { pastedName, uploadMessage, type Uploads, type UploadTexts } from '../shared/uploads';
import type { TranscriptOutcome } from './transcript';

export function App() {
  const s = useStore();
  useEffect(() => {
    if (s.token) s.connect();
  }, [s.token]);
  if (s.invite !== null) return <InvitePage key={s.invite} token={s.invite} />;
  if (s.reset !== null) return <ResetPage key={s.reset} token={s.reset} />;
  return s.token ? <Inbox /> : <Login />;
}

// ---------------- login ----------------
function Login() {
  const [user, setUser] = useState('');
  const [pass, setPass] = useState('');
  const [err, setErr] = useState(store.notice);
  const [busy, setBusy] = useState(false);
  const passRef = useRef<HTMLInputElement>(null);
  return (
    <main class="login">
      <form
        class="login-card"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setErr('');
          const msg = await store.login(user.trim(), pass);
          setBusy(false);
          if (msg) {
            setErr(msg);
            setPass('');
            passRef.current?.focus();
          }
        }}
      >
        <div class="brand-mark" aria-hidden="true">
          <ChatIcon />
        </div>
        <h1>Sign in to Parlor</h1>
        <p class="sub">Answer your visitors in real time.</p>
        <label>
          Username
          <input name="username" autoComplete="username" required autoFocus value={user} onInput={(e) => setUser(e.currentTarget.value)} />
        </label>
        <label>
          Password
          <input
            ref={passRef}
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={pass}
            onInput={(e) => setPass(e.currentTarget.value)}
          />
        </label>
        {err && (
          <p class="form-error" role="alert">
            {err}
          </p>
        )}
        <button class="btn primary wide" type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

// ---------------- inbox ----------------
function Inbox() {
  const s = useStore();
  const page = s.page();
  const conv = page === 'inbox' && s.selected ? s.convs.get(s.selected) : undefined;
  const unread = s.totalUnread();
  return (
    <div class={`app${conv ? ' has-conv' : ''}`}>
      <header class="topbar with-nav">
        <div class="logo">
          <span class="brand-mark small" aria-hidden="true">
            <ChatIcon />
          </span>
          <span class="logo-name">Parlor</span>
        </div>
        <nav class="nav" aria-label="Dashboard">
          <NavButton view="inbox" page={page}>
            Inbox
            {unread > 0 && page !== 'inbox' && <span class="count">{unread > 99 ? '99+' : unread}</span>}
          </NavButton>
          {s.isAdmin() && (
            <>
              <NavButton view="team" page={page}>
                Team
              </NavButton>
              <NavButton view="settings" page={page}>
                Settings
              </NavButton>
            </>
          )}
          <NavButton view="profile" page={page}>
            Profile
          </NavButton>
        </nav>
        <div class="grow" />
        <span class={`conn-pill ${s.connected ? 'ok' : 'bad'}`}>{s.connected ? 'Connected' : 'Offline'}</span>
        <button
          class={`btn ghost icon${s.notify ? '' : ' off'}`}
          type="button"
          aria-pressed={s.notify}
          aria-label="Sound and desktop notifications"
          title={`Notifications ${s.notify ? 'on' : 'off'}: a sound and a desktop notification for new messages while this tab is in the background`}
          onClick={() => s.setNotify(!s.notify)}
        >
          <BellIcon off={!s.notify} />
        </button>
        <span class="me" title="Signed in">
          <Avatar seed={s.agent?.id || ''} name={s.agent?.name || '?'} />
          <span class="me-name">{s.agent?.name}</span>
        </span>
        <button class="btn ghost logout" type="button" onClick={() => s.logout()}>
          Log out
        </button>
      </header>
      {!s.connected && s.everConnected && (
        <div class="banner" role="status">
          Connection lost. Reconnecting… Messages you send will be delivered when we are back.
        </div>
      )}
      {page === 'team' ? (
        <TeamPage />
      ) : page === 'settings' ? (
        <SettingsPage />
      ) : page === 'profile' ? (
        <ProfilePage />
      ) : (
        <div class="panes">
          <ConversationList />
          {conv ? <ConversationView key={conv.id} conv={conv} /> : <EmptyState />}
          {conv && <ProfilePanel conv={conv} />}
        </div>
      )}
    </div>
  );
}

function NavButton({ view, page, children }: { view: View; page: View; children: ComponentChildren }) {
  return (
    <button type="button" class={`nav-btn${page === view ? ' on' : ''}`} aria-current={page === view ? 'page' : undefined} onClick={() => store.show(view)}>
      {children}
    </button>
  );
}

function EmptyState() {
  const s = useStore();
  return (
    <section class="thread empty">
      <div class="empty-card">
        <div class="brand-mark" aria-hidden="true">
          <ChatIcon />
        </div>
        <h2>{s.convs.size ? 'Pick a conversation' : 'No conversations yet'}</h2>
        <p>
          {s.convs.size
            ? 'Choose a visitor on the left to read and answer their messages.'
            : 'When a visitor writes from your website, the chat shows up here instantly.'}
        </p>
      </div>
    </section>
  );
}

const FILTERS: [Filter, string][] = [
  ['all', 'All'],
  ['open', 'Open'],
  ['ended', 'Ended'],
];

function ConversationList() {
  const s = useStore();
  const items = s.sorted();
  const more = s.moreConvs[s.filter] && !s.search;
  return (
    <aside class="sidebar" aria-label="Conversations">
      <div class="side-head">
        <h1>Inbox {s.totalUnread() > 0 && <span class="count">{s.totalUnread()}</span>}</h1>
        <div class="tabs" role="tablist" aria-label="Filter conversations">
          {FILTERS.map(([f, label]) => (
            <button
              key={f}
              type="button"
              role="tab"
              aria-selected={s.filter === f}
              class={`tab${s.filter === f ? ' on' : ''}`}
              onClick={() => s.setFilter(f)}
            >
              {label}
            </button>
          ))}
        </div>
        <input
          class="search"
          type="search"
          placeholder="Search name, e-mail or text"
          aria-label="Search conversations"
          value={s.search}
          onInput={(e) => {
            s.search = e.currentTarget.value;
            s.changed();
          }}
        />
      </div>
      <ul
        class="conv-list"
        onScroll={(e) => {
          const el = e.currentTarget;
          if (more && el.scrollHeight - el.scrollTop - el.clientHeight < 120) s.loadMoreConvs();
        }}
      >
        {items.map((c) => (
          <ConversationItem key={c.id} c={c} active={c.id === s.selected} typing={s.isTyping(c.id)} />
        ))}
        {!items.length && <li class="list-empty">{s.search ? 'No matches among loaded conversations.' : 'Nothing here yet.'}</li>}
        {more && (
          <li class="list-more">
            <button class="btn ghost" type="button" disabled={s.loadingConvs} onClick={() => s.loadMoreConvs()}>
              {s.loadingConvs ? 'Loading…' : 'Load older conversations'}
            </button>
          </li>
        )}
      </ul>
    </aside>
  );
}

function ConversationItem({ c, active, typing }: { c: Summary; active: boolean; typing: boolean }) {
  const last = c.lastMessage;
  const prefix = last ? (last.sender === 'agent' ? `${last.agentName || 'You'}: ` : last.sender === 'system' ? '' : '') : '';
  return (
    <li>
      <button
        type="button"
        class={`conv${active ? ' active' : ''}${c.unread ? ' unread' : ''}${c.status === 'ended' ? ' ended' : ''}`}
        aria-current={active ? 'true' : undefined}
        data-conversation={c.id}
        onClick={() => store.select(c.id)}
      >
        <Avatar seed={c.visitor.id || c.id} name={displayName(c)} online={c.online} />
        <span class="conv-main">
          <span class="conv-top">
            <span class="conv-name">{displayName(c)}</span>
            <time dateTime={c.updatedAt}>{shortTime(c.updatedAt)}</time>
          </span>
          <span class="conv-bottom">
            <span class="conv-preview">
              {typing ? <em>typing…</em> : last ? prefix + messageText(last) : <em>No messages yet</em>}
            </span>
            {c.status === 'ended' && <span class="tag">Ended</span>}
            {c.unread > 0 && (
              <span class="badge" aria-label={`${c.unread} unread`}>
                {c.unread > 99 ? '99+' : c.unread}
              </span>
            )}
          </span>
        </span>
      </button>
    </li>
  );
}

// ---------------- conversation ----------------
function ConversationView({ conv }: { conv: Summary }) {
  const s = useStore();
  const t = s.thread(conv.id);
  const logRef = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const restore = useRef<number | null>(null);
  const [text, setText] = useState('');
  const [endErr, setEndErr] = useState('');
  const [mailed, setMailed] = useState<TranscriptOutcome | null>(null);
  const [mailing, setMailing] = useState(false);
  const [dropping, setDropping] = useState(false);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const pickRef = useRef<HTMLInputElement>(null);
  const files = s.uploads(conv.id);
  const busy = files.busy();
  const ready = files.items.some((u) => u.state === 'done');

  const msgs = t.messages;
  const seenUpTo = t.peerRead;
  let lastAgent = -1;
  msgs.forEach((m, i) => m.sender === 'agent' && (lastAgent = i));

  useLayoutEffect(() => {
    const el = logRef.current;
    if (!el) return;
    if (restore.current !== null) {
      el.scrollTop = el.scrollHeight - restore.current;
      if (!t.loading) restore.current = null;
    } else if (stick.current) el.scrollTop = el.scrollHeight;
  });
  useEffect(() => {
    inputRef.current?.focus();
  }, [conv.id]);

  const submit = () => {
    if (busy || (!text.trim() && !ready)) return;
    s.send(conv.id, text);
    setText('');
    stick.current = true;
  };

  return (
    <section
      class={`thread${dropping ? ' drop' : ''}`}
      aria-label={`Conversation with ${displayName(conv)}`}
      onDragOver={(e) => {
        if (!e.dataTransfer?.types.includes('Files')) return;
        e.preventDefault();
        setDropping(true);
      }}
      onDragLeave={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setDropping(false);
      }}
      onDrop={(e) => {
        setDropping(false);
        const list = e.dataTransfer?.files;
        if (!list || !list.length) return;
        e.preventDefault();
        files.add(list);
      }}
    >
      <header class="thread-head">
        <button class="btn ghost back" type="button" aria-label="Back to the list" onClick={() => s.select(null)}>
          ←
        </button>
        <Avatar seed={conv.visitor.id || conv.id} name={displayName(conv)} online={conv.online} />
        <div class="thread-title">
          <h2>{displayName(conv)}</h2>
          <p>
            <span class={`presence ${conv.online ? 'on' : ''}`}>{conv.online ? 'Online' : 'Offline'}</span>
            {conv.page && (
              <>
                {' · on '}
                <span class="page-ref" title={conv.page.url}>
                  {conv.page.title || conv.page.url}
                </span>
              </>
            )}
          </p>
        </div>
        {conv.visitor.email && (
          <button
            class="btn ghost"
            type="button"
            disabled={mailing}
            title={`E-mail the whole conversation to ${conv.visitor.email}`}
            onClick={async () => {
              setMailing(true);
              setMailed(null);
              setMailed(await s.transcript(conv.id));
              setMailing(false);
            }}
          >
            {mailing ? 'Sending…' : 'Send transcript'}
          </button>
        )}
        {conv.status === 'open' ? (
          <button
            class="btn danger-ghost"
            type="button"
            onClick={async () => setEndErr((await s.end(conv.id)) || '')}
          >
            End chat
          </button>
        ) : (
          <span class="tag big">Chat ended</span>
        )}
      </header>
      {endErr && (
        <p class="form-error inline" role="alert">
          {endErr}
        </p>
      )}
      {mailed &&
        (mailed.ok ? (
          <p class="saved inline" role="status">
            {mailed.text}
          </p>
        ) : (
          <p class="form-error inline" role="alert">
            {mailed.text}
          </p>
        ))}
      <div
        class="log"
        ref={logRef}
        role="log"
        aria-live="polite"
        aria-label="Messages"
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 60;
          if (el.scrollTop < 80 && t.hasMore && !t.loading) {
            restore.current = el.scrollHeight - el.scrollTop;
            if (!s.loadOlder(conv.id)) restore.current = null;
          }
        }}
      >
        {t.hasMore && <div class="log-more">{t.loading ? 'Loading earlier messages…' : 'Scroll up for earlier messages'}</div>}
        {!t.loaded && t.loading && <div class="log-more">Loading…</div>}
        {t.loaded && !msgs.length && !t.pending.length && <div class="log-more">No messages yet. Say hello!</div>}
        {msgs.map((m, i) => (
          <MessageRow
            key={m.id}
            m={m}
            prev={msgs[i - 1]}
            next={msgs[i + 1]}
            receipt={i === lastAgent ? (seenUpTo >= m.seq ? 'Seen' : 'Delivered') : ''}
          />
        ))}
        {t.pending.map((p) => (
          <div key={p.clientId} class={`msg out${p.failed ? ' failed' : ' pending'} first last`}>
            {p.text && (
              <div class="bubble">
                <Linkified text={p.text} />
              </div>
            )}
            {p.attachments && <Attachments list={p.attachments} />}
            <div class="meta">
              {p.failed ? (
                <>
                  <span>Not sent: {p.failed.message}. </span>
                  <button type="button" class="link" onClick={() => s.retry(conv.id, p.clientId)}>
                    Retry
                  </button>
                  {' · '}
                  <button type="button" class="link" onClick={() => s.discard(conv.id, p.clientId)}>
                    Discard
                  </button>
                </>
              ) : (
                'Sending…'
              )}
            </div>
          </div>
        ))}
        {conv.status === 'ended' && <div class="sys-note">This chat has ended. It reopens when the visitor writes again.</div>}
      </div>
      <div class="typing-row" aria-live="polite">
        {s.isTyping(conv.id) && (
          <span class="typing">
            <span class="dots" aria-hidden="true">
              <i />
              <i />
              <i />
            </span>
            {displayName(conv)} is typing…
          </span>
        )}
      </div>
      <form
        class="composer"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <Tray files={files} />
        <button class="btn ghost icon attach" type="button" aria-label="Attach files" title="Attach files" onClick={() => pickRef.current?.click()}>
          <ClipIcon />
        </button>
        <input
          ref={pickRef}
          class="pick"
          type="file"
          multiple
          hidden
          onChange={(e) => {
            const el = e.currentTarget;
            if (el.files && el.files.length) files.add(el.files);
            el.value = '';
            inputRef.current?.focus();
          }}
        />
        <textarea
          ref={inputRef}
          rows={2}
          maxLength={4000}
          aria-label="Reply"
          placeholder={`Reply to ${displayName(conv)}… (Enter to send, Shift+Enter for a new line)`}
          value={text}
          onInput={(e) => {
            const v = e.currentTarget.value;
            setText(v);
            if (v.trim()) s.typingOn(conv.id);
            else s.typingOff(conv.id);
          }}
          onBlur={() => s.typingOff(conv.id)}
          onPaste={(e) => {
            const c = e.clipboardData;
            // Text copied with an image of itself (from an office suite) pastes as text.
            if (!c || c.types.includes('text/plain') || !c.files.length) return;
            e.preventDefault();
            files.add(c.files, pastedName);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              submit();
            }
          }}
        />
        <button class="btn primary" type="submit" disabled={busy || (!text.trim() && !ready)} title={busy ? 'Waiting for the files to upload' : undefined}>
          Send
        </button>
      </form>
    </section>
  );
}

function MessageRow({ m, prev, next, receipt }: { m: Message; prev?: Message; next?: Message; receipt: string }) {
  const same = (a?: Message) => a && a.sender === m.sender && a.agentName === m.agentName && gap(a, m) < 5 * 60e3;
  const first = !same(prev);
  const last = !same(next);
  const dayBreak = !prev || day(prev.createdAt) !== day(m.createdAt);
  const cls = m.sender === 'visitor' ? 'in' : m.sender === 'agent' ? 'out' : 'sys';
  return (
    <>
      {dayBreak && <div class="day">{dayLabel(m.createdAt)}</div>}
      {m.sender === 'system' ? (
        <div class="sys-note">{m.text}</div>
      ) : (
        <div class={`msg ${cls}${first ? ' first' : ''}${last ? ' last' : ''}`} data-seq={m.seq}>
          {first && m.sender === 'agent' && <div class="who">{m.agentName || 'Agent'}</div>}
          {m.text && (
            <div class="bubble" title={new Date(m.createdAt).toLocaleString()}>
              <Linkified text={m.text} />
            </div>
          )}
          {m.attachments && m.attachments.length > 0 && <Attachments list={m.attachments} />}
          {(last || receipt) && (
            <div class="meta">
              {clock(m.createdAt)}
              {receipt && ` · ${receipt}`}
            </div>
          )}
        </div>
      )}
    </>
  );
}

// ---------------- files ----------------
/** A message's files: an image as its thumbnail, which opens the full image in a new tab; any
 * other file as a chip with its name and size, which downloads it. */
function Attachments({ list }: { list: Attachment[] }) {
  return (
    <div class="files">
      {list.map((a) => {
        const size = thumbSize(a, 240);
        return (
          <a
            key={a.id}
            class={isImage(a) ? 'thumb' : 'chip'}
            href={a.url}
            target="_blank"
            rel="noopener noreferrer"
            title={a.name}
            onClick={(e) => openAttachment(e, a, '', store.token)}
          >
            {isImage(a) ? (
              <img
                src={a.thumbnailUrl}
                alt={a.name}
                width={size?.[0]}
                height={size?.[1]}
                onError={(e) => reloadThumbnail(e.currentTarget, a, '', store.token)}
              />
            ) : (
              <>
                <FileIcon />
                <span class="name">{a.name}</span>
                <span class="size">{formatSize(a.size)}</span>
              </>
            )}
          </a>
        );
      })}
    </div>
  );
}

const UPLOAD_TEXTS: UploadTexts = {
  fileTooLarge: (limit) => (limit ? `This file is too large: the limit is ${limit}.` : 'This file is too large.'),
  fileType: 'This type of file cannot be sent.',
  fileEmpty: 'This file is empty.',
  fileTooMany: (n) => `At most ${n} files per message.`,
  fileRateLimited: 'Too many files at once. Try again in a minute.',
  fileFailed: 'Upload failed.',
};

/** The files of the reply being written: progress, why one was refused, retry. */
function Tray({ files }: { files: Uploads }) {
  if (!files.items.length) return null;
  return (
    <ul class="tray">
      {files.items.map((u) => {
        const pct = Math.round((100 * u.loaded) / (u.size || 1));
        const note = uploadMessage(u, UPLOAD_TEXTS, (n) => formatSize(n));
        return (
          <li key={u.key} class={`up ${u.state}`}>
            <span class="name">{u.name}</span>
            <span class="size">{formatSize(u.size)}</span>
            {u.state === 'failed' && (
              <button type="button" class="link retry" onClick={() => files.retry(u.key)}>
                Retry
              </button>
            )}
            <button type="button" class="x" aria-label={`Remove ${u.name}`} onClick={() => files.remove(u.key)}>
              ×
            </button>
            {(u.state === 'queued' || u.state === 'uploading') && (
              <span class="bar" role="progressbar" aria-label={u.name} aria-valuenow={pct}>
                <i style={{ width: `${pct}%` }} />
              </span>
            )}
            {note && (
              <span class="why" role="alert">
                {note}
              </span>
            )}
          </li>
        );
      })}
    </ul>
  );
}

function ClipIcon() {
  return (
    <svg viewBox="0 0 24 24" aria-hidden="true">
      <path d="M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6z" />
    </svg>
  );
}
function FileIcon() {
  return (
    <svg viewBox="0 0 24 24" aria-hidden="true">
      <path d="M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8zm-1 7V3.5L18.5 9z" />
    </svg>
  );
}

function Linkified({ text }: { text: string }) {
  return (
    <>
      {splitLinks(text).map(([t, href], i) =>
        href ? (
          <a key={i} href={href} target="_blank" rel="noopener noreferrer nofollow">
            {t}
          </a>
        ) : (
          t
        ),
      )}
    </>
  );
}

// ---------------- profile ----------------
function ProfilePanel({ conv }: { conv: Summary }) {
  const s = useStore();
  const v = conv.visitor;
  const t = s.threads.get(conv.id);
  const firstMsg = t && t.messages[0] && t.messages[0].seq === 1 ? t.messages[0] : undefined;
  const firstSeen = v.createdAt || conv.createdAt || (firstMsg && firstMsg.createdAt);
  return (
    <aside class="profile" aria-label="Visitor profile">
      <div class="profile-head">
        <Avatar seed={v.id || conv.id} name={displayName(conv)} online={conv.online} big />
        <h2>{displayName(conv)}</h2>
        <p class={`presence ${conv.online ? 'on' : ''}`}>{conv.online ? 'Online now' : 'Offline'}</p>
      </div>
      <dl>
        <Row label="Name">{v.name || <span class="muted">Not given</span>}</Row>
        <Row label="E-mail">{v.email ? <a href={`mailto:${v.email}`}>{v.email}</a> : <span class="muted">Not given</span>}</Row>
        <Row label="Phone">{v.phone ? <a href={`tel:${v.phone.replace(/[^0-9+]/g, '')}`}>{v.phone}</a> : <span class="muted">Not given</span>}</Row>
        <Row label="First seen">{firstSeen ? new Date(firstSeen).toLocaleString() : <span class="muted">—</span>}</Row>
        <Row label="Current page">
          {conv.page && /^https?:/i.test(conv.page.url) ? (
            <a href={conv.page.url} target="_blank" rel="noopener noreferrer nofollow" title={conv.page.url}>
              {conv.page.title || conv.page.url}
            </a>
          ) : (
            <span class="muted">Unknown</span>
          )}
        </Row>
        <Row label="Status">{conv.status === 'open' ? 'Open' : 'Ended'}</Row>
      </dl>
    </aside>
  );
}
function Row({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </>
  );
}

// ---------------- bits ----------------
function BellIcon({ off }: { off: boolean }) {
  return (
    <svg viewBox="0 0 24 24" aria-hidden="true">
      <path d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1z" />
      {off && <path d="M3.3 2.3 2 3.6l18.4 18.4 1.3-1.3z" />}
    </svg>
  );
}

const gap = (a: Message, b: Message) => Math.abs(Date.parse(b.createdAt) - Date.parse(a.createdAt));
const day = (iso: string) => new Date(iso).toDateString();
function dayLabel(iso: string) {
  const d = new Date(iso);
  const today = new Date();
  const y = new Date(Date.now() - 864e5);
  if (d.toDateString() === today.toDateString()) return 'Today';
  if (d.toDateString() === y.toDateString()) return 'Yesterday';
  return d.toLocaleDateString([], { weekday: 'long', month: 'short', day: 'numeric' });
}
const clock = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' });
function shortTime(iso: string) {
  const d = new Date(iso);
  if (isNaN(+d)) return '';
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return clock(iso);
  if (now.getTime() - d.getTime() < 6 * 864e5) return d.toLocaleDateString([], { weekday: 'short' });
  return d.toLocaleDateString([], { month: 'short', day: 'numeric' });
}
