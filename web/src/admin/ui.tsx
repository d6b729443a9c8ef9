// Small pieces every page of the dashboard uses.
import type { ComponentChildren } from 'preact';
import { useEffect, useReducer, useState } from 'preact/hooks';
import { store, hash } from './store';

/** The store, re-rendering the component on every change. */
export function useStore() {
  const [, force] = useReducer((n: number) => n + 1, 0);
  useEffect(() => store.subscribe(() => force(0)), []);
  return store;
}

export function Avatar({ seed, name, online, big }: { seed: string; name: string; online?: boolean; big?: boolean }) {
  const initials =
    name
      .split(/[\s@._-]+/)
      .filter(Boolean)
      .slice(0, 2)
      .map((w) => w[0]!.toUpperCase())
      .join('') || '?';
  return (
    <span class={`avatar av${hash(seed) % 8}${big ? ' big' : ''}`} aria-hidden="true">
      {initials}
      {online !== undefined && <span class={`dot${online ? ' on' : ''}`} />}
    </span>
  );
}

export function ChatIcon() {
  return (
    <svg viewBox="0 0 24 24" aria-hidden="true">
      <path d="M12 3C6.5 3 2 6.9 2 11.7c0 2.5 1.2 4.7 3.2 6.3L4.5 21.6c-.1.5.4.9.9.7l4-1.8c.8.2 1.7.3 2.6.3 5.5 0 10-3.9 10-8.7S17.5 3 12 3z" />
    </svg>
  );
}

/** The login page's card, as a form when it has `onSubmit`. */
export function AuthCard({ children, onSubmit }: { children: ComponentChildren; onSubmit?: () => void }) {
  const inner = (
    <>
      <div class="brand-mark" aria-hidden="true">
        <ChatIcon />
      </div>
      {children}
    </>
  );
  return (
    <main class="login invite-page">
      {onSubmit ? (
        <form
          class="login-card"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            onSubmit();
          }}
        >
          {inner}
        </form>
      ) : (
        <div class="login-card">{inner}</div>
      )}
    </main>
  );
}

/** Copying a text to the clipboard with a "Copied" confirmation for two seconds. Without the
 * clipboard API (or its permission) it selects the text in `field` and copies the old way; where
 * even that fails the text stays selected for the user to copy. */
export function useCopy(): [boolean, (text: string, field?: HTMLInputElement | HTMLTextAreaElement | null) => Promise<void>] {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const t = setTimeout(() => setCopied(false), 2000);
    return () => clearTimeout(t);
  }, [copied]);
  const copy = async (text: string, field?: HTMLInputElement | HTMLTextAreaElement | null) => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
    } catch {
      field?.focus();
      field?.select();
      let ok = false;
      try {
        ok = !!field && document.execCommand('copy');
      } catch {
        /* selected: the user copies it */
      }
      setCopied(ok);
    }
  };
  return [copied, copy];
}
