//! When the e-mail scheduler queues an e-mail for a side that left: from committed state, once
//! however often and however many nodes look, and never for what was read in time. The
//! scheduler is called directly (no timer); the outbox is read back with a claim.

use std::time::Duration;

use parlor::domain::mail::MailConfig;
use parlor::domain::model::Side;

use crate::support::backend::Backend;
use crate::support::chat::{AgentTab, TestChat, VisitorTab};

/// A chat whose e-mails come due at once.
async fn mailing(backend: Backend) -> TestChat {
    TestChat::with(backend, |s| {
        s.mail = Some(MailConfig {
            domain: "parlor.test".into(),
            base_url: "https://chat.example".into(),
            visitor_delay: Duration::ZERO,
            agent_delay: Duration::ZERO,
        })
    })
    .await
}

/// The e-mails in the outbox, as their recipients.
async fn queued(t: &TestChat) -> Vec<String> {
    let far = i64::MAX / 4;
    t.store()
        .claim_mail(far, far + 1, 1000)
        .await
        .expect("claims")
        .into_iter()
        .map(|m| {
            let mail: serde_json::Value = serde_json::from_str(&m.mail).expect("json");
            mail["to"].as_str().expect("to").to_owned()
        })
        .collect()
}

async fn due(t: &TestChat, to: Side) -> usize {
    t.store()
        .due_mail(to, i64::MAX / 4, 100)
        .await
        .expect("due")
        .len()
}

/// A site's agent, and a visitor of the site who gave an e-mail address (ada@example.test).
async fn agent_and_visitor_with_address(t: &TestChat) -> (AgentTab, VisitorTab) {
    let site = t.site().await;
    let agent = t.agent(&site).await;
    let visitor = t.visitor(&site).await;
    t.profile(&visitor, None, Some("ada@example.test"), None)
        .await
        .expect("profile");
    (agent, visitor)
}

async fn an_unread_reply_is_queued_once_however_many_schedulers_look(backend: Backend) {
    let t = mailing(backend).await;
    let (agent, visitor) = agent_and_visitor_with_address(&t).await;
    t.agent_says(&agent, &visitor, "One").await;
    t.agent_says(&agent, &visitor, "Two").await;
    assert_eq!(due(&t, Side::Visitor).await, 1);
    let (a, b) = tokio::join!(t.chat().mail_due(), t.chat().mail_due());
    a.expect("scheduled");
    b.expect("scheduled");
    t.chat().mail_due().await.expect("scheduled");
    assert_eq!(queued(&t).await, ["ada@example.test"]);
    assert_eq!(due(&t, Side::Visitor).await, 0, "no longer due");
}
both_backends!(an_unread_reply_is_queued_once_however_many_schedulers_look);

async fn a_reply_read_in_time_is_not_queued_and_no_longer_due(backend: Backend) {
    let t = mailing(backend).await;
    let (agent, visitor) = agent_and_visitor_with_address(&t).await;
    let reply = t.agent_says(&agent, &visitor, "Read me").await;
    t.visitor_read(&visitor, reply.seq).await.expect("read");
    t.chat().mail_due().await.expect("scheduled");
    assert!(queued(&t).await.is_empty());
    assert_eq!(due(&t, Side::Visitor).await, 0);
}
both_backends!(a_reply_read_in_time_is_not_queued_and_no_longer_due);

async fn a_visitor_message_is_due_for_agents_only_while_none_is_online(backend: Backend) {
    let t = mailing(backend).await;
    let site = t.site().await;
    let visitor = t.visitor(&site).await;
    t.visitor_says(&visitor, "Anyone?").await;
    assert_eq!(due(&t, Side::Agent).await, 1);
    // No agent has an address: nothing to send, and no longer due.
    t.chat().mail_due().await.expect("scheduled");
    assert!(queued(&t).await.is_empty());
    assert_eq!(due(&t, Side::Agent).await, 0);
    let _agent = t.agent(&site).await;
    t.visitor_says(&visitor, "Now that you are here").await;
    assert_eq!(due(&t, Side::Agent).await, 0);
}
both_backends!(a_visitor_message_is_due_for_agents_only_while_none_is_online);
