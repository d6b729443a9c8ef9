//! Conversations: ending and reopening, the agents' list, and the order of messages.

use std::sync::Arc;

use parlor::domain::events::{AgentEvent, VisitorEvent};
use parlor::domain::model::Status;

use crate::support::backend::Backend;
use crate::support::chat::TestChat;
use crate::support::events::{names, seqs, Heard};

async fn ending_a_conversation_is_announced_to_both_sides_once(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let tab = t.visitor(&site).await;
    let (ender, colleague) = (t.agent(&site).await, t.agent(&site).await);
    t.events.clear();
    let summary = t.end(&ender, tab.conversation_id()).await.expect("end");
    assert_eq!(summary.status, Status::Ended);
    let heard = t.heard(&tab);
    let [Heard::Visitor(VisitorEvent::Conversation(conversation))] = heard.as_slice() else {
        panic!("expected one conversation, heard {heard:?}");
    };
    assert_eq!(&conversation.id, tab.conversation_id());
    assert_eq!(conversation.status, Status::Ended);
    // Every agent hears the Summary, the one that ended it too.
    for agent in [&ender, &colleague] {
        let heard = t.heard(agent);
        let [Heard::Agent(AgentEvent::Conversation(summary))] = heard.as_slice() else {
            panic!("expected one conversation, heard {heard:?}");
        };
        assert_eq!(summary.status, Status::Ended);
    }
    // Ending it again answers the Summary and announces nothing.
    let before = t.events.emitted();
    let again = t
        .end(&ender, tab.conversation_id())
        .await
        .expect("end again");
    assert_eq!(again.status, Status::Ended);
    assert_eq!(again.updated_at, summary.updated_at);
    assert_eq!(t.events.emitted(), before);
}
both_backends!(ending_a_conversation_is_announced_to_both_sides_once);

async fn a_visitor_message_reopens_an_ended_conversation(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let tab = t.visitor(&site).await;
    let other_tab = t.another_tab(&site, &tab).await;
    let agent = t.agent(&site).await;
    t.end(&agent, tab.conversation_id()).await.expect("end");
    t.events.clear();
    let message = t.visitor_says(&tab, "one more question").await;
    // The sender hears the reopening too, not its own message; the others hear it first.
    assert_eq!(names(&t.heard(&tab)), ["conversation"]);
    let heard = t.heard(&other_tab);
    assert_eq!(names(&heard), ["conversation", "message"]);
    let Heard::Visitor(VisitorEvent::Conversation(reopened)) = &heard[0] else {
        unreachable!()
    };
    assert_eq!(reopened.status, Status::Open);
    let heard = t.heard(&agent);
    assert_eq!(names(&heard), ["conversation", "message"]);
    let Heard::Agent(AgentEvent::Conversation(summary)) = &heard[0] else {
        unreachable!()
    };
    assert_eq!(summary.status, Status::Open);
    assert_eq!(summary.last_message.as_ref(), Some(&message));
}
both_backends!(a_visitor_message_reopens_an_ended_conversation);

async fn an_agent_message_leaves_an_ended_conversation_ended(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let tab = t.visitor(&site).await;
    let agent = t.agent(&site).await;
    t.end(&agent, tab.conversation_id()).await.expect("end");
    t.events.clear();
    let message = t.agent_says(&agent, &tab, "one more thing").await;
    assert_eq!(seqs(&t.heard(&tab)), [message.seq]);
    let summary = t.summary(&agent, &tab).await;
    assert_eq!(summary.status, Status::Ended);
    assert_eq!(summary.last_message, Some(message));
}
both_backends!(an_agent_message_leaves_an_ended_conversation_ended);

async fn the_list_is_newest_activity_first_pages_by_updated_at_and_filters_by_status(
    backend: Backend,
) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let tabs = [
        t.visitor(&site).await,
        t.visitor(&site).await,
        t.visitor(&site).await,
    ];
    let agent = t.agent(&site).await;
    // A message moves the first conversation to the front; a profile does not move anything.
    t.visitor_says(&tabs[0], "hello").await;
    t.profile(&tabs[1], Some("Bo"), None, None)
        .await
        .expect("profile");
    let ids = |page: &parlor::domain::model::SummaryPage| {
        page.conversations
            .iter()
            .map(|s| s.id.clone())
            .collect::<Vec<_>>()
    };
    let expected = [&tabs[0], &tabs[2], &tabs[1]].map(|t| t.conversation_id().clone());
    let first = t.list(&agent, None, Some(2), None).await.expect("list");
    assert_eq!(ids(&first), expected[..2]);
    assert!(first.has_more);
    let cursor = first.conversations[1].updated_at;
    let second = t
        .list(&agent, Some(cursor), Some(2), None)
        .await
        .expect("list");
    assert_eq!(ids(&second), expected[2..]);
    assert!(!second.has_more);
    // Ending moves it to the front as well, and the status filter finds it.
    t.end(&agent, tabs[2].conversation_id()).await.expect("end");
    let ended = t
        .list(&agent, None, None, Some(Status::Ended))
        .await
        .expect("list");
    assert_eq!(ids(&ended), [tabs[2].conversation_id().clone()]);
    let open = t
        .list(&agent, None, None, Some(Status::Open))
        .await
        .expect("list");
    assert_eq!(
        ids(&open),
        [
            tabs[0].conversation_id().clone(),
            tabs[1].conversation_id().clone()
        ]
    );
    let all = t.list(&agent, None, None, None).await.expect("list");
    assert_eq!(&ids(&all)[0], tabs[2].conversation_id());
}
both_backends!(the_list_is_newest_activity_first_pages_by_updated_at_and_filters_by_status);

/// Sends racing from two tabs and an agent: `seq` stays gap-free, and every connection hears
/// the conversation's messages in `seq` order (the conversation lock, held from the insert
/// to the announcement).
async fn concurrent_sends_reach_every_connection_in_seq_order(backend: Backend) {
    const EACH: usize = 15;
    let t = Arc::new(TestChat::start(backend).await);
    let site = t.site().await;
    let tab = Arc::new(t.visitor(&site).await);
    let other_tab = Arc::new(t.another_tab(&site, &tab).await);
    let agent = Arc::new(t.agent(&site).await);
    let watcher = t.agent(&site).await;
    t.events.clear();
    let mut sends = Vec::new();
    for i in 0..EACH {
        for (j, visitor_tab) in [&tab, &other_tab].into_iter().enumerate() {
            let (t, visitor_tab) = (t.clone(), visitor_tab.clone());
            sends.push(tokio::spawn(async move {
                t.visitor_says(&visitor_tab, &format!("tab {j} #{i}")).await
            }));
        }
        let (t, agent, tab) = (t.clone(), agent.clone(), tab.clone());
        sends.push(tokio::spawn(async move {
            t.agent_says(&agent, &tab, &format!("agent #{i}")).await
        }));
    }
    let mut stored = Vec::new();
    for send in sends {
        stored.push(send.await.expect("the send task").seq);
    }
    stored.sort_unstable();
    let all: Vec<i64> = (1..=(3 * EACH) as i64).collect();
    assert_eq!(stored, all, "seq is gap-free");
    let ascending = |seqs: &[i64]| seqs.windows(2).all(|w| w[0] < w[1]);
    // Each hears everything but its own sends, in order.
    for (heard, expected) in [
        (seqs(&t.heard(&watcher)), 3 * EACH),
        (seqs(&t.heard(agent.as_ref())), 2 * EACH),
        (seqs(&t.heard(tab.as_ref())), 2 * EACH),
        (seqs(&t.heard(other_tab.as_ref())), 2 * EACH),
    ] {
        assert_eq!(heard.len(), expected);
        assert!(ascending(&heard), "out of order: {heard:?}");
    }
}
both_backends!(
    concurrent_sends_reach_every_connection_in_seq_order,
    flavor = "multi_thread",
    worker_threads = 2
);
