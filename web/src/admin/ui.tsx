// Small pieces every page of the dashboard uses.
import { useEffect, useReducer } from 'preact/hooks';
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

