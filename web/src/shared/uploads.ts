// The files of a message being written, for the widget and the dashboard alike: each file
// picked, pasted or dropped uploads at once (`POST /api/uploads`, docs/protocol.md *Files*) with
// its progress; the message takes the uploaded ones when it is sent. A refused file says why
// (too large, a type the server does not take) and stays until removed; a failed one (no
// network, a server error, too many at once) keeps its `File` and uploads again on `retry`.
//
// It knows no DOM or framework: the request goes through a `Post` (XMLHttpRequest in the
// browser, for its upload progress events; a script in the unit tests), and the UI re-renders
// when `onChange` is called.
import type { Attachment } from './types';

/** Why a file is not uploaded. The first four are refusals (the same file would be refused
 * again); the others are failures worth a retry. */
export type UploadError =
  | 'too_large'
  | 'unsupported_type'
  | 'empty'
  | 'too_many'
  | 'rate_limited'
  | 'failed';

const REFUSALS: UploadError[] = ['too_large', 'unsupported_type', 'empty', 'too_many'];

export interface Upload {
  key: number;
  file: Blob;
  name: string;
  size: number;
  /** `queued`: waits for its turn (or for a conversation to upload to). */
  state: 'queued' | 'uploading' | 'done' | 'refused' | 'failed';
  /** Bytes sent so far. */
  loaded: number;
  /** The server's upload, once `done`. */
  attachment?: Attachment;
  error?: UploadError;
  /** The size limit the refusal of a file too large was about, when known. */
  limit?: number;
}

/** One upload request. `status` 0: no answer (the network, an abort). */
export type Post = (request: {
  url: string;
  bearer: string;
  body: Blob;
  onProgress: (loaded: number) => void;
}) => { done: Promise<{ status: number; body: string }>; abort: () => void };

export interface UploadOptions {
  /** The upload URL for a file name (`.../api/uploads?filename=...`, an agent's with its
   * `conversationId`), and the bearer; null while there is none yet (a visitor before its
   * first session): the file waits for `pump`. */
  target: (name: string) => { url: string; bearer: string } | null;
  onChange: () => void;
  post?: Post;
  /** The server's size limit, when known: larger files are refused without uploading. */
  maxBytes?: number;
}

/** Files one message may carry. */
export const MAX_FILES = 10;
/** Uploads at once (a visitor may have 3 running). */
const AT_ONCE = 3;

export class Uploads {
  items: Upload[] = [];
  private next = 1;
  private aborts = new Map<number, () => void>();

  constructor(private options: UploadOptions) {}

  /** Adds files (as picked, pasted or dropped) and starts uploading them. */
  add(files: ArrayLike<Blob & { name?: string }>, rename?: (f: Blob & { name?: string }) => string) {
    for (let i = 0; i < files.length; i++) {
      const f = files[i];
      const u: Upload = { key: this.next++, file: f, name: (rename ? rename(f) : f.name) || 'file', size: f.size, state: 'queued', loaded: 0 };
      const max = this.options.maxBytes;
      if (this.items.filter((x) => x.state !== 'refused').length >= MAX_FILES) this.refuse(u, 'too_many');
      else if (!f.size) this.refuse(u, 'empty');
      else if (max && f.size > max) this.refuse(u, 'too_large', max);
      this.items.push(u);
    }
    this.options.onChange();
    this.pump();
  }

  /** Uploads a failed file again, the same `File`. */
  retry(key: number) {
    const u = this.items.find((x) => x.key === key);
    if (!u || u.state !== 'failed') return;
    u.state = 'queued';
    u.error = undefined;
    u.loaded = 0;
    this.options.onChange();
    this.pump();
  }

  /** Drops a file, stopping its upload. */
  remove(key: number) {
    const abort = this.aborts.get(key);
    this.aborts.delete(key);
    this.items = this.items.filter((x) => x.key !== key);
    if (abort) abort();
    this.options.onChange();
    this.pump();
  }

  /** Drops every file (the conversation they were for is gone). */
  clear() {
    const aborts = [...this.aborts.values()];
    this.aborts.clear();
    this.items = [];
    aborts.forEach((abort) => abort());
    this.options.onChange();
  }

  /** Files still on their way. */
  busy(): boolean {
    return this.items.some((x) => x.state === 'queued' || x.state === 'uploading');
  }

  /** The uploaded files, which leave the list for the message being sent; refused and failed
   * ones stay. */
  take(): Attachment[] {
    const done = this.items.filter((x) => x.state === 'done');
    this.items = this.items.filter((x) => x.state !== 'done');
    if (done.length) this.options.onChange();
    return done.map((x) => x.attachment!);
  }

  /** Starts queued uploads, up to `AT_ONCE` at a time, when there is somewhere to upload to. */
  pump() {
    for (const u of this.items) {
      if (this.aborts.size >= AT_ONCE) return;
      if (u.state === 'queued' && !this.start(u)) return;
    }
  }

  private start(u: Upload): boolean {
    const target = this.options.target(u.name);
    if (!target) return false;
    u.state = 'uploading';
    const post = this.options.post || xhrPost;
    const req = post({
      url: target.url,
      bearer: target.bearer,
      body: u.file,
      onProgress: (loaded) => {
        u.loaded = Math.min(loaded, u.size);
        this.options.onChange();
      },
    });
    this.aborts.set(u.key, req.abort);
    void req.done.then(({ status, body }) => {
      // Removed meanwhile: its abort answered.
      if (!this.aborts.delete(u.key)) return;
      let json: any = null;
      try {
        json = JSON.parse(body);
      } catch {
        /* not JSON: a proxy's page, or nothing */
      }
      if (status >= 200 && status < 300 && json && typeof json.id === 'string') {
        u.state = 'done';
        u.loaded = u.size;
        u.attachment = json;
      } else {
        const code = uploadError(status, json && json.error);
        if (REFUSALS.includes(code)) this.refuse(u, code, this.options.maxBytes || limitOf(json));
        else {
          u.state = 'failed';
          u.error = code;
        }
      }
      this.options.onChange();
      this.pump();
    });
    this.options.onChange();
    return true;
  }

  private refuse(u: Upload, error: UploadError, limit?: number) {
    u.state = 'refused';
    u.error = error;
    u.limit = limit;
  }
}

/** What an upload's answer means (docs/protocol.md, *Files*). */
export function uploadError(status: number, code?: string): UploadError {
  if (status === 413 || code === 'too_large') return 'too_large';
  if (status === 415 || code === 'unsupported_type') return 'unsupported_type';
  if (status === 429) return 'rate_limited';
  // 400 `invalid`: an empty or unreadable file (an empty one is refused before uploading).
  if (status === 400) return 'empty';
  return 'failed';
}

/** The limit a refusal of a file too large names (`maxBytes`; a conversation past its quota
 * names none). */
function limitOf(json: { maxBytes?: unknown } | null): number | undefined {
  return json && typeof json.maxBytes === 'number' ? json.maxBytes : undefined;
}

/** The texts of refusals and failures, in the UI's language. */
export interface UploadTexts {
  /** `limit`: the largest size allowed, formatted, or '' when not known. */
  fileTooLarge: (limit: string) => string;
  fileType: string;
  fileEmpty: string;
  fileTooMany: (n: number) => string;
  fileRateLimited: string;
  fileFailed: string;
}

/** Why `u` is refused or failed, for the user; '' when it is neither. */
export function uploadMessage(u: Upload, t: UploadTexts, size: (bytes: number) => string): string {
  const e = u.error;
  return e === 'too_large'
    ? t.fileTooLarge(u.limit ? size(u.limit) : '')
    : e === 'too_many'
      ? t.fileTooMany(MAX_FILES)
      : e
        ? t[TEXTS[e]]
        : '';
}
const TEXTS = {
  unsupported_type: 'fileType',
  empty: 'fileEmpty',
  rate_limited: 'fileRateLimited',
  failed: 'fileFailed',
} as const;

/** A pasted file's name: a screenshot comes from the clipboard as `image.png`, which says
 * nothing to the other side. */
export function pastedName(f: Blob & { name?: string }): string {
  const name = f.name || '';
  const m = /^image\/(png|jpeg|gif|webp)$/.exec(f.type);
  if (m && (!name || /^image\.\w+$/i.test(name))) return `screenshot.${m[1] === 'jpeg' ? 'jpg' : m[1]}`;
  return name || 'file';
}

/** The upload over XMLHttpRequest: `fetch` reports no upload progress. */
export const xhrPost: Post = ({ url, bearer, body, onProgress }) => {
  const x = new XMLHttpRequest();
  const done = new Promise<{ status: number; body: string }>((resolve) => {
    x.open('POST', url);
    x.setRequestHeader('Authorization', 'Bearer ' + bearer);
    x.upload.onprogress = (e) => onProgress(e.loaded);
    x.onload = () => resolve({ status: x.status, body: x.responseText });
    x.onerror = x.onabort = x.ontimeout = () => resolve({ status: 0, body: '' });
    x.send(body);
  });
  return { done, abort: () => x.abort() };
};
