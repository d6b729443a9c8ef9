// The widget's files: the attachments of a message (an image as a thumbnail that opens the full
// image, any other file as a chip with its name and size that downloads it) and the composer's
// tray of files being uploaded (progress, why a file was refused, retry). Names go in as text,
// never as HTML. The model is the shared one: `shared/uploads.ts`, `shared/files.ts`.
import { formatSize, isImage, openAttachment, reloadThumbnail, thumbSize } from '../shared/files';
import { uploadMessage, type Uploads } from '../shared/uploads';
import type { Attachment } from '../shared/types';
import type { Lang, Strings } from './i18n';
import { ICON_FILE } from './template';

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, text?: string) => {
  const e = document.createElement(tag);
  e.className = cls;
  if (text) e.textContent = text;
  return e;
};

/** `base`: the Parlor server's origin; `bearer`: the visitor's token now. */
export function fileViews(base: string, bearer: () => string | null, t: Strings, lang: Lang) {
  const units = t.units.split(' ');
  const size = (n: number) => formatSize(n, lang, units);

  /** A message's attachments. */
  function attachments(list: Attachment[]): HTMLElement {
    const box = el('div', 'files');
    for (const a of list) {
      const link = el('a', isImage(a) ? 'thumb' : 'chip');
      link.href = base + a.url;
      link.target = '_blank';
      link.rel = 'noopener noreferrer';
      link.title = a.name;
      link.onclick = (e) => openAttachment(e, a, base, bearer());
      if (isImage(a)) {
        const img = el('img', '');
        img.alt = a.name;
        const s = thumbSize(a, 200);
        if (s) [img.width, img.height] = s;
        img.onerror = () => reloadThumbnail(img, a, base, bearer());
        img.src = base + a.thumbnailUrl;
        link.append(img);
      } else {
        link.innerHTML = ICON_FILE; // static markup only
        link.append(el('span', 'name', a.name), el('span', 'size', size(a.size)));
      }
      box.append(link);
    }
    return box;
  }

  /** Keeps `tray` showing the files of the message being written. */
  function tray(box: HTMLElement, uploads: Uploads) {
    const rows = new Map<number, { li: HTMLElement; bar: HTMLElement; note: HTMLElement; retry: HTMLElement }>();
    return () => {
      const keep = new Set<number>();
      for (const u of uploads.items) {
        keep.add(u.key);
        let r = rows.get(u.key);
        if (!r) {
          const li = el('li', '');
          const bar = el('i', '');
          const progress = el('span', 'bar');
          progress.setAttribute('role', 'progressbar');
          progress.setAttribute('aria-label', u.name);
          progress.append(bar);
          const note = el('span', 'why');
          const retry = el('button', 'retry', t.retry);
          const x = el('button', 'x', '×');
          (retry as HTMLButtonElement).type = (x as HTMLButtonElement).type = 'button';
          x.setAttribute('aria-label', `${t.remove}: ${u.name}`);
          retry.onclick = () => uploads.retry(u.key);
          x.onclick = () => uploads.remove(u.key);
          li.append(el('span', 'name', u.name), el('span', 'size', size(u.size)), retry, x, progress, note);
          rows.set(u.key, (r = { li, bar, note, retry }));
          box.append(li);
        }
        r.li.className = 'up ' + u.state;
        const pct = Math.round((100 * u.loaded) / (u.size || 1));
        r.bar.style.width = pct + '%';
        r.bar.parentElement!.setAttribute('aria-valuenow', String(pct));
        r.note.textContent = uploadMessage(u, t, size);
        r.retry.hidden = u.state !== 'failed';
      }
      rows.forEach((r, k) => {
        if (!keep.has(k)) {
          r.li.remove();
          rows.delete(k);
        }
      });
      box.hidden = !rows.size;
    };
  }

  return { attachments, tray };
}
