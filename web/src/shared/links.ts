// Splits plain text into text runs and links. Only http(s) URLs (and bare
// www. hosts, which become https) are ever turned into links; everything is
// later rendered with textContent / text nodes, never as HTML.
const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+|\bwww\.[^\s<>"'`]+/gi;
const TRAIL_RE = /[.,!?;:)\]}]+$/;

export type Run = [text: string, href?: string];

export function splitLinks(text: string): Run[] {
  const out: Run[] = [];
  let last = 0;
  URL_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = URL_RE.exec(text))) {
    let url = m[0];
    const trail = TRAIL_RE.exec(url);
    if (trail) url = url.slice(0, url.length - trail[0].length);
    if (url.length < 5) continue;
    const start = m.index;
    if (start > last) out.push([text.slice(last, start)]);
    out.push([url, /^www\./i.test(url) ? 'https://' + url : url]);
    last = start + url.length;
    URL_RE.lastIndex = last;
  }
  if (last < text.length) out.push([text.slice(last)]);
  return out;
}
