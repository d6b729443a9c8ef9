// The Settings page (admins): how the site's widget looks and behaves (name, accent colour,
// greeting, away message, office hours, the pre-chat form, the origins allowed to embed it), the
// site's e-mail (contact address, sender; a notice when the server sends none) and the snippet
// that embeds it. The form is edited here; Save sends what changed (`settings.ts`),
// and the server's refusal shows next to the button.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { useStore, useCopy } from './ui';
import {
  DAYS,
  DEFAULT_ACCENT,
  FIELDS,
  MAX_TEXT,
  addRange,
  changes,
  formOf,
  hasProblems,
  problems,
  removeRange,
  setRange,
  snippet,
  workWeek,
  zones,
  type Ask,
  type Day,
  type Field,
  type Form,
} from './settings';

const DAY_NAMES: Record<Day, string> = {
  mon: 'Monday',
  tue: 'Tuesday',
  wed: 'Wednesday',
  thu: 'Thursday',
  fri: 'Friday',
  sat: 'Saturday',
  sun: 'Sunday',
};
const FIELD_NAMES: Record<Field, string> = { name: 'Name', email: 'E-mail', phone: 'Phone' };
const ASK_NAMES: [Ask, string][] = [
  ['off', 'Off'],
  ['ask', 'Ask'],
  ['require', 'Required'],
];

export function SettingsPage() {
  const s = useStore();
  const model = s.settings;
  const current = model.current;
  const [form, setForm] = useState<Form | null>(null);
  const [tried, setTried] = useState(false);

  useEffect(() => {
    if (!current && !model.loading && s.connected) void model.load();
  }, []);
  // The form shows what the server holds, again after every save (before the browser paints or
  // anything reads the page: no moment shows the saved settings beside the old form).
  useLayoutEffect(() => {
    if (current) {
      setForm(formOf(current));
      setTried(false);
    }
  }, [current]);

  const update = (patch: Partial<Form>) => form && setForm({ ...form, ...patch });
  const diff = useMemo(() => (current && form ? changes(current, form) : {}), [current, form]);
  const dirty = Object.keys(diff).length > 0;
  const probs = form ? problems(form) : {};
  const shown = tried ? probs : {};
  const saved = model.savedAt > 0 && !dirty && !model.saving;

  const save = async () => {
    if (!form) return;
    setTried(true);
    if (hasProblems(problems(form))) return;
    await model.save(form);
  };

  const discard = () => {
    setForm(formOf(current!));
    setTried(false);
    model.clearStatus();
  };

  return (
    <main class="page settings-page" aria-labelledby="settings-title">
      <form
        class="page-inner"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <header class="page-head">
          <div class="page-title">
            <h1 id="settings-title">Settings</h1>
            <p>How the chat looks and behaves on your website.</p>
          </div>
        </header>

        {model.error && (
          <div class="form-error with-action" role="alert">
            <span>Could not load the settings: {model.error}</span>
            <button class="link" type="button" onClick={() => void model.load()}>
              Try again
            </button>
          </div>
        )}

        {!form || !current ? (
          !model.error && (
            <section class="card">
              <p class="card-empty">{s.connected ? 'Loading the settings…' : 'Connecting…'}</p>
            </section>
          )
        ) : (
          <>
            <section class="card form-card" aria-labelledby="look-title">
              <h2 id="look-title">Look and texts</h2>
              <div class="look">
                <div class="look-fields">
                  <label>
                    Display name
                    <input name="name" maxLength={100} value={form.name} aria-invalid={!!shown.name} onInput={(e) => update({ name: e.currentTarget.value })} />
                    <span class="field-hint">Shown at the top of the chat window.</span>
                    {shown.name && <FieldError text={shown.name} />}
                  </label>
                  <div class="field">
                    <span class="field-label" id="accent-label">
                      Accent colour
                    </span>
                    <div class="color-row" role="group" aria-labelledby="accent-label">
                      <input
                        type="color"
                        class="swatch"
                        aria-label="Pick the accent colour"
                        value={/^#[0-9a-fA-F]{6}$/.test(form.accentColor) ? form.accentColor.toLowerCase() : DEFAULT_ACCENT}
                        onInput={(e) => update({ accentColor: e.currentTarget.value })}
                      />
                      <input
                        class="hex"
                        name="accentColor"
                        aria-label="Accent colour as hex"
                        placeholder={`${DEFAULT_ACCENT} (default)`}
                        maxLength={7}
                        spellcheck={false}
                        autoCapitalize="none"
                        value={form.accentColor}
                        aria-invalid={!!shown.accentColor}
                        onInput={(e) => update({ accentColor: e.currentTarget.value })}
                      />
                      <button class="btn ghost sm" type="button" disabled={!form.accentColor} onClick={() => update({ accentColor: '' })}>
                        Use default
                      </button>
                    </div>
                    {shown.accentColor && <FieldError text={shown.accentColor} />}
                  </div>
                  <label>
                    Greeting
                    <textarea
                      name="greeting"
                      rows={3}
                      value={form.greeting}
                      placeholder="Hi! How can we help you today?"
                      aria-invalid={!!shown.greeting}
                      onInput={(e) => update({ greeting: e.currentTarget.value })}
                    />
                    <span class="field-hint">
                      The first thing visitors read. Empty: the widget's own greeting. <Count text={form.greeting} />
                    </span>
                    {shown.greeting && <FieldError text={shown.greeting} />}
                  </label>
                  <label>
                    Away message
                    <textarea
                      name="awayMessage"
                      rows={3}
                      value={form.awayMessage}
                      placeholder="We're away right now. Leave a message and we'll get back to you."
                      aria-invalid={!!shown.awayMessage}
                      onInput={(e) => update({ awayMessage: e.currentTarget.value })}
                    />
                    <span class="field-hint">
                      Shown when nobody is online or outside office hours. <Count text={form.awayMessage} />
                    </span>
                    {shown.awayMessage && <FieldError text={shown.awayMessage} />}
                  </label>
                </div>
                <Preview form={form} />
              </div>
            </section>

            <HoursCard form={form} update={update} shown={shown} />

            <section class="card form-card" aria-labelledby="prechat-title">
              <h2 id="prechat-title">Pre-chat form</h2>
              <p class="hint">What the widget asks before the first message. Visitors can skip a form with no required field.</p>
              <ul class="prechat-list">
                {FIELDS.map((f) => (
                  <li key={f} class="prechat-row" data-field={f}>
                    <span class="prechat-name">{FIELD_NAMES[f]}</span>
                    <div class="seg" role="group" aria-label={`Ask for ${FIELD_NAMES[f]}`}>
                      {ASK_NAMES.map(([a, label]) => (
                        <button
                          key={a}
                          type="button"
                          class={form.fields[f] === a ? 'on' : ''}
                          aria-pressed={form.fields[f] === a}
                          onClick={() => update({ fields: { ...form.fields, [f]: a } })}
                        >
                          {label}
                        </button>
                      ))}
                    </div>
                  </li>
                ))}
              </ul>
            </section>

            <section class="card form-card" aria-labelledby="origins-title">
              <h2 id="origins-title">Allowed websites</h2>
              <label>
                <span class="hint" id="origins-hint">
                  The origins that may show the chat, one a line, like <code>https://shop.example</code>. Leave empty to
                  allow any website.
                </span>
                <textarea
                  name="allowedOrigins"
                  class="mono"
                  rows={3}
                  spellcheck={false}
                  autoCapitalize="none"
                  aria-label="Allowed origins"
                  aria-describedby="origins-hint"
                  aria-invalid={!!shown.origins}
                  placeholder="https://shop.example"
                  value={form.origins}
                  onInput={(e) => update({ origins: e.currentTarget.value })}
                />
              </label>
              {shown.origins && <FieldError text={shown.origins} />}
            </section>

            <EmailCard form={form} update={update} shown={shown} enabled={current.emailEnabled} />

            <EmbedCard siteKey={current.siteKey} />

            <div class="save-bar">
              <button class="btn primary" type="submit" disabled={!dirty || model.saving}>
                {model.saving ? 'Saving…' : 'Save changes'}
              </button>
              <button class="btn ghost" type="button" disabled={!dirty || model.saving} onClick={discard}>
                Discard
              </button>
              <div class="save-status">
                {tried && hasProblems(probs) ? (
                  <p class="form-error" role="alert">
                    Fix the marked fields, then save again.
                  </p>
                ) : model.saveError ? (
                  <p class="form-error" role="alert">
                    {model.saveError}
                  </p>
                ) : saved ? (
                  <p class="saved" role="status">
                    Saved. New chat windows use these settings.
                  </p>
                ) : dirty ? (
                  <p class="hint">You have unsaved changes.</p>
                ) : null}
              </div>
            </div>
          </>
        )}
      </form>
    </main>
  );
}

function FieldError({ text }: { text: string }) {
  return <span class="field-error">{text}</span>;
}

function Count({ text }: { text: string }) {
  const n = [...text.trim()].length;
  return <span class={n > MAX_TEXT ? 'over' : ''}>{`${n}/${MAX_TEXT}`}</span>;
}

/** A small picture of the widget in the chosen colour, with the greeting. */
function Preview({ form }: { form: Form }) {
  const color = /^#[0-9a-fA-F]{6}$/.test(form.accentColor.trim()) ? form.accentColor.trim() : DEFAULT_ACCENT;
  return (
    <figure class="preview" aria-label="Preview">
      <div class="preview-panel">
        <div class="preview-head" style={{ background: color }}>
          {form.name.trim() || 'Your site'}
        </div>
        <div class="preview-body">
          <div class="preview-bubble">{form.greeting.trim() || 'Hi! How can we help you today?'}</div>
          <div class="preview-bubble own" style={{ background: color }}>
            Hello!
          </div>
        </div>
      </div>
      <div class="preview-launcher" style={{ background: color }} aria-hidden="true">
        <svg viewBox="0 0 24 24">
          <path d="M12 3C6.5 3 2 6.9 2 11.7c0 2.5 1.2 4.7 3.2 6.3L4.5 21.6c-.1.5.4.9.9.7l4-1.8c.8.2 1.7.3 2.6.3 5.5 0 10-3.9 10-8.7S17.5 3 12 3z" />
        </svg>
      </div>
      <figcaption class="field-hint">Preview</figcaption>
    </figure>
  );
}

function HoursCard({ form, update, shown }: { form: Form; update: (p: Partial<Form>) => void; shown: ReturnType<typeof problems> }) {
  const zoneList = useMemo(() => zones(form.timeZone), [form.timeZone]);
  const week = form.week;
  return (
    <section class="card form-card" aria-labelledby="hours-title">
      <div class="card-head">
        <div>
          <h2 id="hours-title">Office hours</h2>
          <p class="hint">Outside these hours the widget shows the away message and when you are back. Visitors can still write.</p>
        </div>
        <label class="switch">
          <input
            type="checkbox"
            role="switch"
            name="alwaysOpen"
            checked={form.alwaysOpen}
            onChange={(e) => {
              const open = e.currentTarget.checked;
              const empty = DAYS.every((d) => !week[d].length);
              update({ alwaysOpen: open, week: !open && empty ? workWeek() : week });
            }}
          />
          <span class="switch-track" aria-hidden="true" />
          Always open
        </label>
      </div>
      {!form.alwaysOpen && (
        <div class="hours">
          <label class="zone">
            Time zone
            <select name="timeZone" value={form.timeZone} onChange={(e) => update({ timeZone: e.currentTarget.value })}>
              {zoneList.map((z) => (
                <option key={z} value={z}>
                  {z.replace(/_/g, ' ')}
                </option>
              ))}
            </select>
          </label>
          <ul class="week" aria-label="Weekly hours">
            {DAYS.map((d) => {
              const errs = shown.ranges?.[d] || [];
              return (
                <li key={d} class="day-row" data-day={d}>
                  <span class="day-name">{DAY_NAMES[d]}</span>
                  <div class="day-ranges">
                    {week[d].length === 0 && <span class="closed">Closed</span>}
                    {week[d].map((r, i) => (
                      <div key={i} class="range" role="group" aria-label={`${DAY_NAMES[d]}, opening ${i + 1}`}>
                        <input
                          type="time"
                          aria-label="From"
                          value={r.from}
                          required
                          aria-invalid={!!errs[i]}
                          onInput={(e) => update({ week: setRange(week, d, i, { from: e.currentTarget.value }) })}
                        />
                        <span aria-hidden="true">–</span>
                        <input
                          type="time"
                          aria-label="To"
                          value={r.to}
                          required
                          aria-invalid={!!errs[i]}
                          onInput={(e) => update({ week: setRange(week, d, i, { to: e.currentTarget.value }) })}
                        />
                        <button
                          class="btn ghost icon-x"
                          type="button"
                          aria-label={`Remove ${DAY_NAMES[d]} ${r.from}–${r.to}`}
                          title="Remove"
                          onClick={() => update({ week: removeRange(week, d, i) })}
                        >
                          ×
                        </button>
                        {errs[i] && <FieldError text={errs[i]!} />}
                      </div>
                    ))}
                  </div>
                  <button class="btn ghost sm" type="button" aria-label={`Add hours on ${DAY_NAMES[d]}`} onClick={() => update({ week: addRange(week, d) })}>
                    Add hours
                  </button>
                </li>
              );
            })}
          </ul>
          <p class="field-hint">An end time of 00:00 means midnight. A day with no hours is closed.</p>
          {shown.hours && <FieldError text={shown.hours} />}
        </div>
      )}
    </section>
  );
}

function EmailCard({
  form,
  update,
  shown,
  enabled,
}: {
  form: Form;
  update: (p: Partial<Form>) => void;
  shown: ReturnType<typeof problems>;
  enabled: boolean | undefined;
}) {
  return (
    <section class="card form-card" aria-labelledby="email-title">
      <h2 id="email-title">E-mail</h2>
      {enabled === false && (
        <p class="notice email-off" role="note">
          E-mail is off: this server has no PARLOR_SMTP_URL; transcripts, missed-reply and offline e-mails are not sent.
        </p>
      )}
      <label>
        Contact address
        <input
          name="contactEmail"
          type="email"
          maxLength={254}
          spellcheck={false}
          autoCapitalize="none"
          placeholder="support@shop.example"
          value={form.contactEmail}
          aria-invalid={!!shown.contactEmail}
          onInput={(e) => update({ contactEmail: e.currentTarget.value })}
        />
        <span class="field-hint">Where replies to the site's e-mails go. Empty: replies go to the sender.</span>
        {shown.contactEmail && <FieldError text={shown.contactEmail} />}
      </label>
      <label>
        Sender
        <input
          name="mailFrom"
          maxLength={400}
          spellcheck={false}
          autoCapitalize="none"
          placeholder="Shop Support <support@shop.example>"
          value={form.mailFrom}
          aria-invalid={!!shown.mailFrom}
          onInput={(e) => update({ mailFrom: e.currentTarget.value })}
        />
        <span class="field-hint">
          Who the site's e-mails come from: <code>Name &lt;address&gt;</code> or an address. Empty: the server's sender. The
          address's domain should allow this server to send for it (SPF, DKIM).
        </span>
        {shown.mailFrom && <FieldError text={shown.mailFrom} />}
      </label>
    </section>
  );
}

function EmbedCard({ siteKey }: { siteKey: string }) {
  const code = snippet(location.origin, siteKey);
  const ref = useRef<HTMLTextAreaElement>(null);
  const [copied, copy] = useCopy();
  return (
    <section class="card form-card" aria-labelledby="embed-title">
      <h2 id="embed-title">Add the chat to your website</h2>
      <p class="hint">
        Paste this before <code>&lt;/body&gt;</code> on every page that should show the chat.
      </p>
      <div class="copy-row">
        <textarea
          ref={ref}
          class="snippet mono"
          readOnly
          rows={2}
          aria-label="Embed code"
          value={code}
          onFocus={(e) => e.currentTarget.select()}
        />
        <button class="btn ghost" type="button" onClick={() => void copy(code, ref.current)}>
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
      <p class="field-hint" role="status">
        {copied ? 'Copied to the clipboard.' : `Site key: ${siteKey}`}
      </p>
    </section>
  );
}
