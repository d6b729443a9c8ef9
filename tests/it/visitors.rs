//! The visitor side: the handshake, the session, send, profile, page, history, sync, read.

use std::time::Duration;

use parlor::domain::events::{AgentEvent, VisitorEvent};
use parlor::domain::model::{Sender, Status};

use crate::support::backend::Backend;
use crate::support::chat::{code, TestChat};
use crate::support::events::{message_seqs, names, seqs, Heard};

async fn an_unknown_site_key_is_refused(backend: Backend) {
    let t = TestChat::start(backend).await;
    let refused = t.connect_visitor("pk_no_such_site", None).await.err();
    assert_eq!(refused.as_deref(), Some("unknown_site"));
}
both_backends!(an_unknown_site_key_is_refused);

async fn a_site_with_an_allowlist_admits_only_its_origins(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site_allowing(&["https://shop.example"]).await;
    for origin in [None, Some("https://evil.example")] {
        let refused = t
            .connect_visitor_from(&site.key, None, origin, "127.0.0.1")
            .await
            .err();
        assert_eq!(refused.as_deref(), Some("origin_not_allowed"), "{origin:?}");
    }
    // Compared case-insensitively, a trailing slash ignored.
    let admitted = t
        .connect_visitor_from(&site.key, None, Some("https://SHOP.example/"), "127.0.0.1")
        .await;
    assert!(admitted.is_ok());
}
both_backends!(a_site_with_an_allowlist_admits_only_its_origins);

async fn a_new_visitor_gets_a_session_and_the_agents_hear_of_it_online(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let agent = t.agent(&site).await;
    let tab = t.visitor(&site).await;
    let session = &tab.session;
    assert!(!session.token.as_str().is_empty());
    assert_eq!(&session.conversation.id, tab.conversation_id());
    assert_eq!(session.conversation.status, Status::Open);
    assert!(session.messages.is_empty() && !session.has_more);
    assert!(session.agents_online);
    assert_eq!(session.visitor.name, None);
    // Presence first, then the Summary, which already says online.
    let heard = t.heard(&agent);
    assert_eq!(names(&heard), ["presence", "conversation"]);
    let Heard::Agent(AgentEvent::Presence(presence)) = &heard[0] else {
        unreachable!()
    };
    assert_eq!(&presence.conversation_id, tab.conversation_id());
    assert!(presence.online);
    let Heard::Agent(AgentEvent::Conversation(summary)) = &heard[1] else {
        unreachable!()
    };
    assert_eq!(&summary.id, tab.conversation_id());
    assert!(summary.online);
    assert!(summary.last_message.is_none());
}
both_backends!(a_new_visitor_gets_a_session_and_the_agents_hear_of_it_online);

async fn a_returning_visitor_resumes_its_conversation_with_its_token(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let first = t.visitor(&site).await;
    let said = t.visitor_says(&first, "hello").await;
    let agent = t.agent(&site).await;
    let second = t.another_tab(&site, &first).await;
    assert_eq!(second.conversation_id(), first.conversation_id());
    assert_eq!(second.visitor_id(), first.visitor_id());
    assert_eq!(second.token(), first.token());
    assert_eq!(second.session.messages, [said]);
    // Not a new conversation, and the visitor was online already: the agents hear nothing.
    assert!(t.heard(&agent).is_empty());
}
both_backends!(a_returning_visitor_resumes_its_conversation_with_its_token);

async fn another_sites_token_starts_a_new_visitor(backend: Backend) {
    let t = TestChat::start(backend).await;
    let (site, other_site) = (t.site().await, t.site().await);
    let theirs = t.visitor(&other_site).await;
    let tab = t
        .connect_visitor(&site.key, Some(theirs.token()))
        .await
        .expect("admitted as a new visitor");
    assert_ne!(tab.conversation_id(), theirs.conversation_id());
    assert_ne!(tab.token(), theirs.token());
}
both_backends!(another_sites_token_starts_a_new_visitor);

async fn an_expired_visitor_token_is_not_accepted(backend: Backend) {
    // The expiry compares wall-clock timestamps kept in the database: tokio's paused clock
    // does not move them, so this test waits for real. The TTL leaves a loaded machine time
    // to reconnect once before it runs out.
    let ttl = Duration::from_secs(1);
    let t = TestChat::with(backend, |s| s.visitor_token_ttl = ttl).await;
    let site = t.site().await;
    let first = t.visitor(&site).await;
    let again = t.another_tab(&site, &first).await;
    assert_eq!(again.conversation_id(), first.conversation_id());
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    let after = t
        .connect_visitor(&site.key, Some(first.token()))
        .await
        .expect("admitted as a new visitor");
    assert_ne!(after.conversation_id(), first.conversation_id());
    assert_ne!(after.token(), first.token());
}
both_backends!(an_expired_visitor_token_is_not_accepted);

async fn a_visitor_message_gets_the_next_seq_and_reaches_the_agents_and_its_other_tabs(
    backend: Backend,
) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let sender = t.visitor(&site).await;
    let other_tab = t.another_tab(&site, &sender).await;
    let agent = t.agent(&site).await;
    let other_site_agent = t.agent(&t.site().await).await;
    t.events.clear();
    let first = t.visitor_says(&sender, "hello").await;
    let second = t.visitor_says(&sender, "anyone there?").await;
    assert_eq!((first.seq, second.seq), (1, 2));
    assert_eq!(first.sender, Sender::Visitor);
    assert_eq!(first.agent_name, None);
    assert_eq!(&first.conversation_id, sender.conversation_id());
    assert_eq!(seqs(&t.heard(&agent)), [1, 2]);
    assert_eq!(seqs(&t.heard(&other_tab)), [1, 2]);
    // The sending connection has its ack; nobody of another site hears anything.
    assert!(t.heard(&sender).is_empty());
    assert!(t.heard(&other_site_agent).is_empty());
}
both_backends!(a_visitor_message_gets_the_next_seq_and_reaches_the_agents_and_its_other_tabs);

async fn a_retried_send_returns_the_original_and_announces_nothing(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let tab = t.visitor(&site).await;
    let agent = t.agent(&site).await;
    let original = t.visitor_send(&tab, "c-1", "hello").await.expect("send");
    t.events.clear();
    let emitted = t.events.emitted();
    // A retry gets the original whatever its text.
    let retry = t
        .visitor_send(&tab, "c-1", "hello again")
        .await
        .expect("retry");
    assert_eq!(retry, original);
    assert_eq!(t.events.emitted(), emitted, "a retry announced something");
    assert!(t.heard(&agent).is_empty());
    // The retry took no seq.
    assert_eq!(t.visitor_says(&tab, "next").await.seq, 2);
}
both_backends!(a_retried_send_returns_the_original_and_announces_nothing);

async fn message_text_is_stored_trimmed_and_otherwise_verbatim(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let tab = t.visitor(&site).await;
    let html = "<img src=x onerror=alert(1)>\n<b>bold</b>";
    let stored = t.visitor_says(&tab, &format!("  {html}\t\n")).await;
    assert_eq!(stored.text, html);
    let page = t.visitor_sync(&tab, 0).await.expect("sync");
    assert_eq!(page.messages[0].text, html);
    assert_eq!(code(t.visitor_send(&tab, "c-2", " \n ").await), "invalid");
    assert_eq!(
        code(t.visitor_send(&tab, "c-3", &"x".repeat(4001)).await),
        "invalid"
    );
    assert_eq!(code(t.visitor_send(&tab, "", "hi").await), "invalid");
    assert_eq!(
        t.visitor_says(&tab, &"é".repeat(4000)).await.seq,
        2,
        "4000 scalar values fit; the refusals stored nothing"
    );
}
both_backends!(message_text_is_stored_trimmed_and_otherwise_verbatim);

async fn the_session_carries_the_latest_50_messages(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let first = t.visitor(&site).await;
    for i in 1..=55 {
        t.visitor_says(&first, &format!("message {i}")).await;
    }
    let second = t.another_tab(&site, &first).await;
    let got = message_seqs(&second.session.messages);
    assert_eq!(got, (6..=55).collect::<Vec<_>>());
    assert!(second.session.has_more);
    let older = t.visitor_history(&second, 6, None).await.expect("history");
    assert_eq!(message_seqs(&older.messages), [1, 2, 3, 4, 5]);
    assert!(!older.has_more);
}
both_backends!(the_session_carries_the_latest_50_messages);

async fn history_pages_back_from_before_seq_and_says_has_more(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let tab = t.visitor(&site).await;
    for i in 1..=5 {
        t.visitor_says(&tab, &format!("message {i}")).await;
    }
    let mut pages = Vec::new();
    let mut before = 6;
    loop {
        let page = t
            .visitor_history(&tab, before, Some(2))
            .await
            .expect("page");
        let got = message_seqs(&page.messages);
        pages.push((got.clone(), page.has_more));
        if !page.has_more {
            break;
        }
        before = got[0];
    }
    assert_eq!(
        pages,
        [(vec![4, 5], true), (vec![2, 3], true), (vec![1], false)]
    );
    // A cursor beyond the last message gives the latest page.
    let latest = t.visitor_history(&tab, 1000, Some(2)).await.expect("page");
    assert_eq!(message_seqs(&latest.messages), [4, 5]);
    assert_eq!(code(t.visitor_history(&tab, -1, None).await), "invalid");
    for limit in [0, 101] {
        assert_eq!(
            code(t.visitor_history(&tab, 6, Some(limit)).await),
            "invalid"
        );
    }
}
both_backends!(history_pages_back_from_before_seq_and_says_has_more);

async fn sync_returns_the_messages_after_a_seq(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let tab = t.visitor(&site).await;
    let agent = t.agent(&site).await;
    t.visitor_says(&tab, "one").await;
    t.agent_says(&agent, &tab, "two").await;
    t.visitor_says(&tab, "three").await;
    let seqs_after = async |after| {
        let page = t.visitor_sync(&tab, after).await.expect("sync");
        assert!(!page.has_more);
        message_seqs(&page.messages)
    };
    assert_eq!(seqs_after(0).await, [1, 2, 3]);
    assert_eq!(seqs_after(1).await, [2, 3]);
    assert!(seqs_after(3).await.is_empty());
    assert!(seqs_after(99).await.is_empty());
    assert_eq!(code(t.visitor_sync(&tab, -1).await), "invalid");
    // The agent's side pages the same conversation alike.
    let page = t
        .agent_sync(&agent, tab.conversation_id(), 2)
        .await
        .expect("sync");
    assert_eq!(message_seqs(&page.messages), [3]);
}
both_backends!(sync_returns_the_messages_after_a_seq);

async fn a_profile_update_is_announced_to_the_agents_and_not_to_the_visitors_tabs(
    backend: Backend,
) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let tab = t.visitor(&site).await;
    let other_tab = t.another_tab(&site, &tab).await;
    let agent = t.agent(&site).await;
    t.events.clear();
    let visitor = t
        .profile(&tab, Some(" Ada "), Some("ada@example.com"), None)
        .await
        .expect("profile");
    assert_eq!(visitor.name.as_deref(), Some("Ada"));
    assert_eq!(visitor.email.as_deref(), Some("ada@example.com"));
    let heard = t.heard(&agent);
    assert_eq!(names(&heard), ["conversation"]);
    let Heard::Agent(AgentEvent::Conversation(summary)) = &heard[0] else {
        unreachable!()
    };
    assert_eq!(summary.visitor, visitor);
    assert!(t.heard(&other_tab).is_empty());
    // An empty string clears a field; an absent one leaves it.
    let visitor = t
        .profile(&tab, Some(""), None, None)
        .await
        .expect("profile");
    assert_eq!(visitor.name, None);
    assert_eq!(visitor.email.as_deref(), Some("ada@example.com"));
    // Invalid input changes nothing.
    let before = t.events.emitted();
    assert_eq!(
        code(t.profile(&tab, None, Some("not an address"), None).await),
        "invalid"
    );
    assert_eq!(t.events.emitted(), before);
    assert_eq!(t.summary(&agent, &tab).await.visitor, visitor);
}
both_backends!(a_profile_update_is_announced_to_the_agents_and_not_to_the_visitors_tabs);

async fn a_page_report_keeps_origin_and_path_and_reaches_the_agents(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site_keeping(&["utm_*"]).await;
    let tab = t.visitor(&site).await;
    let agent = t.agent(&site).await;
    t.page(
        &tab,
        "https://user:pw@shop.example/cart?token=s3cret&utm_source=mail#access_token=x",
        Some("Cart\n(2 items)"),
    )
    .await
    .expect("page");
    let heard = t.heard(&agent);
    assert_eq!(names(&heard), ["conversation"]);
    let Heard::Agent(AgentEvent::Conversation(summary)) = &heard[0] else {
        unreachable!()
    };
    let page = summary.page.as_ref().expect("the page");
    assert_eq!(page.url, "https://shop.example/cart?utm_source=mail");
    assert_eq!(page.title.as_deref(), Some("Cart (2 items)"));
}
both_backends!(a_page_report_keeps_origin_and_path_and_reaches_the_agents);

async fn a_visitor_read_raises_its_marker_and_tells_the_agents(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let tab = t.visitor(&site).await;
    let agent = t.agent(&site).await;
    t.agent_says(&agent, &tab, "hi").await;
    t.agent_says(&agent, &tab, "how can I help?").await;
    t.events.clear();
    t.visitor_read(&tab, 1).await.expect("read");
    let heard = t.heard(&agent);
    let [Heard::Agent(AgentEvent::Read(read))] = heard.as_slice() else {
        panic!("expected one read, heard {heard:?}");
    };
    assert_eq!(&read.conversation_id, tab.conversation_id());
    assert_eq!(read.seq, 1);
    assert_eq!(
        serde_json::to_value(read.by).expect("json"),
        serde_json::json!("visitor")
    );
    // A read that does not raise the marker is acked and changes nothing.
    let before = t.events.emitted();
    t.visitor_read(&tab, 1).await.expect("read again");
    t.visitor_read(&tab, 0).await.expect("read lower");
    assert_eq!(t.events.emitted(), before);
    assert_eq!(code(t.visitor_read(&tab, 3).await), "invalid");
    t.visitor_read(&tab, 2).await.expect("read on");
    assert_eq!(names(&t.heard(&agent)), ["read"]);
}
both_backends!(a_visitor_read_raises_its_marker_and_tells_the_agents);

async fn visitor_typing_reaches_the_sites_agents(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let tab = t.visitor(&site).await;
    let agent = t.agent(&site).await;
    let other_site_agent = t.agent(&t.site().await).await;
    t.events.clear();
    t.visitor_typing(&tab, true).await;
    let heard = t.heard(&agent);
    let [Heard::Agent(AgentEvent::Typing(typing))] = heard.as_slice() else {
        panic!("expected one typing, heard {heard:?}");
    };
    assert_eq!(&typing.conversation_id, tab.conversation_id());
    assert!(typing.typing);
    assert!(t.heard(&other_site_agent).is_empty());
    assert!(t.heard(&tab).is_empty());
}
both_backends!(visitor_typing_reaches_the_sites_agents);

/// Pins the wire shape the socket layer serializes: a visitor's `message` event is the Message.
async fn a_message_event_carries_the_stored_message(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let tab = t.visitor(&site).await;
    let other_tab = t.another_tab(&site, &tab).await;
    let agent = t.agent(&site).await;
    t.events.clear();
    let said = t.agent_says(&agent, &tab, "hello").await;
    let heard = t.heard(&other_tab);
    let [Heard::Visitor(VisitorEvent::Message(message))] = heard.as_slice() else {
        panic!("expected one message, heard {heard:?}");
    };
    assert_eq!(message, &said);
    let json = serde_json::to_value(message).expect("json");
    assert_eq!(json["sender"], "agent");
    assert_eq!(json["agentName"], agent.account.name.as_str());
    let created = json["createdAt"].as_str().expect("createdAt");
    assert!(
        created.len() == 24 && created.ends_with('Z') && created.as_bytes()[19] == b'.',
        "createdAt is RFC 3339 with milliseconds: {created}"
    );
}
both_backends!(a_message_event_carries_the_stored_message);
