-- E-mail when one side has left (src/domain/mail.rs, "missed replies" and "offline messages").
-- A conversation is due for an e-mail to its visitor when an agent message stays unread:
-- `visitor_mail_due_at` is set by the first agent message after the last such e-mail and
-- cleared by the scheduler that sends it; `visitor_mailed_seq` is the highest seq an e-mail
-- to the visitor covered, so the next one starts after it. The same for the site's agents,
-- set by a visitor message that arrives while no agent is online.
ALTER TABLE conversations ADD COLUMN visitor_mail_due_at BIGINT;
ALTER TABLE conversations ADD COLUMN visitor_mailed_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN agent_mail_due_at BIGINT;
ALTER TABLE conversations ADD COLUMN agent_mailed_seq BIGINT NOT NULL DEFAULT 0;
-- The scheduler reads only the due rows: a partial index holds nothing else.
CREATE INDEX conversations_visitor_mail_due ON conversations (visitor_mail_due_at)
    WHERE visitor_mail_due_at IS NOT NULL;
CREATE INDEX conversations_agent_mail_due ON conversations (agent_mail_due_at)
    WHERE agent_mail_due_at IS NOT NULL;

-- A visitor who followed an e-mail's unsubscribe link (RFC 8058) gets no more missed-reply
-- e-mails; a transcript the visitor asks for is still sent.
ALTER TABLE visitors ADD COLUMN unsubscribed_at BIGINT;

-- Whether the agent wants offline messages by e-mail (to `email`, when it has one).
ALTER TABLE agents ADD COLUMN offline_emails BOOLEAN NOT NULL DEFAULT TRUE;

-- The site's own sender (`Name <address>`) instead of PARLOR_MAIL_FROM; NULL: the server's.
ALTER TABLE sites ADD COLUMN mail_from TEXT;
