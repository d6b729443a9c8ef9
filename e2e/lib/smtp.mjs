// A copy of tests/protocol/smtp.mjs for the browser tests (each suite installs its own packages).
// A real SMTP server for the tests (the smtp-server package), recording each e-mail parsed by
// mailparser. It can refuse for a while with a temporary (4xx) or a permanent (5xx) answer, and
// it can be started on a port that Parlor already tried while nothing listened there.
import { SMTPServer } from "smtp-server";
import { simpleParser } from "mailparser";
import { createServer } from "node:net";

/** A free TCP port on 127.0.0.1 (nothing listens on it once this resolves). */
export async function freePort() {
  const probe = createServer();
  await new Promise((r) => probe.listen(0, "127.0.0.1", r));
  const { port } = probe.address();
  await new Promise((r) => probe.close(r));
  return port;
}

/**
 * Starts an SMTP server on `port` (default: a free one). `mails` holds every e-mail accepted,
 * parsed: { from, to, subject, text, html, headers (a Map), messageId, inReplyTo, references,
 * raw }. `refuse(code)` answers every RCPT with `code` (e.g. 451 or 550) until `refuse(null)`.
 */
export async function smtpServer(port) {
  port ??= await freePort();
  const mails = [];
  const waiters = new Set();
  let refusal = null;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onRcptTo(address, session, callback) {
      if (refusal) {
        const err = new Error(refusal >= 500 ? "no such mailbox" : "try again later");
        err.responseCode = refusal;
        return callback(err);
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks = [];
      stream.on("data", (c) => chunks.push(c));
      stream.on("end", async () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const parsed = await simpleParser(raw);
        mails.push({
          from: parsed.from?.text,
          to: parsed.to?.text,
          subject: parsed.subject,
          text: parsed.text,
          html: parsed.html,
          headers: parsed.headers,
          messageId: parsed.messageId,
          inReplyTo: parsed.inReplyTo,
          references: parsed.references,
          raw,
        });
        for (const w of waiters) w();
        callback();
      });
    },
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  function arrived(found, timeoutMs, what) {
    const now = found();
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const check = () => {
        const got = found();
        if (got) {
          waiters.delete(check);
          clearTimeout(t);
          resolve(got);
        }
      };
      const t = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`${what} did not arrive within ${timeoutMs} ms (${mails.length} e-mails arrived)`));
      }, timeoutMs);
      waiters.add(check);
    });
  }

  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    mails,
    refuse(code) {
      refusal = code;
    },
    /** Resolves with the `n`th e-mail (1-based) once it has arrived. */
    nth(n, timeoutMs = 15000) {
      return arrived(() => mails.length >= n && mails[n - 1], timeoutMs, `e-mail ${n}`);
    },
    /** Resolves with the e-mails to `address` once there are `n` of them. */
    to(address, n = 1, timeoutMs = 15000) {
      const of = () => mails.filter((m) => m.to === address);
      return arrived(() => of().length >= n && of(), timeoutMs, `${n} e-mail(s) to ${address}`);
    },
    close() {
      return new Promise((r) => server.close(r));
    },
  };
}
