// The widget's static markup: icons, the panel and the pre-chat fields. Markup only, never
// user text (that is rendered with text nodes); the language's texts go in with
// `labelTemplate`, as text and attributes.
import type { Strings } from './i18n';

export type Field = 'name' | 'email' | 'phone';

const ICON_CHAT =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 3C6.5 3 2 6.9 2 11.7c0 2.5 1.2 4.7 3.2 6.3L4.5 21.6c-.1.5.4.9.9.7l4-1.8c.8.2 1.7.3 2.6.3 5.5 0 10-3.9 10-8.7S17.5 3 12 3z"/></svg>';
const ICON_CLOSE =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6z"/></svg>';
const ICON_SEND =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M3.4 20.4 21 12 3.4 3.6 3.4 10l12.6 2-12.6 2z"/></svg>';
const ICON_MAIL =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 5h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2zm0 2v.5l8 5 8-5V7zm16 2.9-8 5-8-5V17h16z"/></svg>';
const ICON_CLIP =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6z"/></svg>';
/** A document, for the chips of attachments that are not shown inline. */
export const ICON_FILE =
  '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8zm-1 7V3.5L18.5 9z"/></svg>';
const ICON_DOWN = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 16.6 5.4 10 6.8 8.6l5.2 5.2 5.2-5.2 1.4 1.4z"/></svg>';

export const TEMPLATE = `
<button class="launcher" type="button" aria-expanded="false" aria-controls="p-panel">
  <span class="ic ic-open">${ICON_CHAT}</span><span class="ic ic-close">${ICON_CLOSE}</span>
  <span class="badge" hidden></span>
</button>
<section class="panel" id="p-panel" role="dialog" aria-labelledby="p-title" hidden>
  <header class="head">
    <div class="avatar" aria-hidden="true">${ICON_CHAT}</div>
    <div class="titles"><h2 id="p-title"></h2><p class="status"><span class="dot"></span><span class="status-text"></span></p></div>
    <button class="close" type="button">${ICON_CLOSE}</button>
  </header>
  <div class="conn" role="status" hidden></div>
  <div class="log" role="log" tabindex="0">
    <div class="more" hidden></div>
    <div class="intro"><p class="hello"></p></div>
    <ol class="msgs"></ol>
    <div class="note away" hidden><p class="away-text"></p><p class="back" hidden></p></div>
    <div class="note ended" hidden></div>
    <div class="transcript" hidden>
      <button class="transcript-offer" type="button">${ICON_MAIL}<span></span></button>
      <form class="transcript-form" novalidate hidden>
        <p class="transcript-lead">${ICON_MAIL}<span></span></p>
        <div class="transcript-row">
          <input type="email" autocomplete="email" maxlength="254" required>
          <button class="primary" type="submit"></button>
        </div>
      </form>
      <p class="transcript-note" role="status"></p>
    </div>
  </div>
  <button class="jump" type="button" hidden>${ICON_DOWN}<span></span></button>
  <form class="prechat" novalidate hidden>
    <p class="lead"></p>
    <div class="fields"></div>
    <p class="err" role="alert"></p>
    <button class="primary" type="submit"></button>
  </form>
  <div class="typing" aria-live="polite" hidden><span class="dots" aria-hidden="true"><i></i><i></i><i></i></span><span class="typing-text"></span></div>
  <form class="composer">
    <ul class="tray" hidden></ul>
    <button class="attach" type="button">${ICON_CLIP}</button>
    <input class="pick" type="file" multiple hidden>
    <textarea rows="1" maxlength="4000"></textarea>
    <button class="send" type="submit">${ICON_SEND}</button>
  </form>
  <p class="brand"><span></span> <b>Parlor</b></p>
</section>`;

/** Puts the language's fixed texts into the markup (as text and attributes, never as HTML). */
export function labelTemplate(root: HTMLElement, t: Strings) {
  const text = (s: string, v: string) => ((root.querySelector(s) as HTMLElement).textContent = v);
  const attr = (s: string, name: string, v: string) => root.querySelector(s)!.setAttribute(name, v);
  attr('.launcher', 'aria-label', t.openChat);
  attr('.close', 'aria-label', t.minimize);
  attr('.log', 'aria-label', t.conversation);
  text('.more', t.loadingEarlier);
  text('.ended', t.ended);
  text('.jump span', t.newMessages);
  text('.lead', t.prechatLead);
  text('.prechat .primary', t.startChat);
  attr('textarea', 'aria-label', t.messageLabel);
  attr('textarea', 'placeholder', t.placeholder);
  attr('.send', 'aria-label', t.send);
  attr('.attach', 'aria-label', t.attach);
  attr('.attach', 'title', t.attach);
  text('.brand span', t.poweredBy);
  text('.transcript-offer span', t.transcriptOffer);
  text('.transcript-lead span', t.transcriptOffer);
  attr('.transcript-form input', 'aria-label', t.transcriptEmail);
  attr('.transcript-form input', 'placeholder', t.transcriptEmail);
  text('.transcript-form .primary', t.transcriptSend);
}

/** Each pre-chat field: its label's key in the catalogue, input type and autocomplete token. */
export const FIELD_LABEL: Record<Field, [keyof Strings & `field${string}`, string, string]> = {
  name: ['fieldName', 'text', 'name'],
  email: ['fieldEmail', 'email', 'email'],
  phone: ['fieldPhone', 'tel', 'tel'],
};
