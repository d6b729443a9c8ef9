// Attachments as messages carry them, for the widget and the dashboard alike: their sizes for
// people, and opening them. A message's `url` and `thumbnailUrl` are signed paths on the Parlor
// server that work for 10 minutes (docs/protocol.md, *Files*); past that the file is fetched with
// the bearer instead, into a blob URL. `base` is the Parlor server's origin (the widget runs on
// other sites' pages), '' on the server's own pages.
import type { Attachment } from './types';

/** Shown inline, as a thumbnail: the images the server made one for. */
export const isImage = (a: Attachment) => !!a.thumbnailUrl;

/** `bytes` for people: `512 B`, `48 KB`, `1.2 MB`. `units`: the language's, smallest first. */
export function formatSize(bytes: number, lang?: string, units = ['B', 'KB', 'MB', 'GB']): string {
  let n = bytes;
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  const digits = i > 0 && n < 10 ? 1 : 0;
  return `${n.toLocaleString(lang, { maximumFractionDigits: digits })} ${units[i]}`;
}

/** Whether a signed path still works for a while (its `exp`, in seconds); false for a path
 * without one. */
export function fresh(path: string | undefined, now = Date.now()): boolean {
  const exp = path && /[?&]exp=(\d+)/.exec(path);
  return !!exp && Number(exp[1]) * 1000 - now > 30_000;
}

/** The file (or its thumbnail): by its signed path while fresh, else with the bearer. */
export async function fetchFile(a: Attachment, base: string, bearer: string | null, thumbnail = false): Promise<Blob> {
  const signed = thumbnail ? a.thumbnailUrl : a.url;
  const useSigned = fresh(signed) || !bearer;
  const r = await fetch(
    useSigned ? base + signed : `${base}/api/uploads/${encodeURIComponent(a.id)}${thumbnail ? '/thumbnail' : ''}`,
    useSigned ? {} : { headers: { Authorization: 'Bearer ' + bearer } },
  );
  if (!r.ok) throw new Error(String(r.status));
  return r.blob();
}

/** The click on an attachment's link (`href`: its signed `url`). An image opens in a new tab:
 * by the link while it is fresh, else fetched with the bearer. Any other file is downloaded
 * under its name (fetched, so that a refusal never navigates the page away). */
export function openAttachment(e: Event, a: Attachment, base: string, bearer: string | null) {
  const image = isImage(a);
  if (image && fresh(a.url)) return;
  e.preventDefault();
  // Opened within the click, so that no popup blocker stops it; filled once the file is here.
  const w = image ? window.open('', '_blank') : null;
  if (w) w.opener = null;
  fetchFile(a, base, bearer).then(
    (blob) => {
      const href = URL.createObjectURL(blob);
      if (w) w.location.href = href;
      else {
        const link = document.createElement('a');
        link.href = href;
        link.download = a.name;
        link.click();
      }
      setTimeout(() => URL.revokeObjectURL(href), 60_000);
    },
    () => w && w.close(),
  );
}

/** A thumbnail that failed to load (its signed path expired): fetched with the bearer, once. */
export function reloadThumbnail(img: HTMLImageElement, a: Attachment, base: string, bearer: string | null) {
  if (img.dataset.retried) return;
  img.dataset.retried = '1';
  fetchFile(a, base, bearer, true).then(
    (blob) => (img.src = URL.createObjectURL(blob)),
    () => {},
  );
}

/** The size to show a thumbnail at: the image's proportions within `box` px square (and no
 * larger than the thumbnail the server makes, 320 px); undefined when the image gave none. */
export function thumbSize(a: Attachment, box: number): [number, number] | undefined {
  const { width: w, height: h } = a;
  if (!w || !h) return;
  const s = Math.min(1, box / w, box / h);
  return [Math.max(1, Math.round(w * s)), Math.max(1, Math.round(h * s))];
}
