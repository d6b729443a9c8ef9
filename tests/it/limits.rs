//! Bounds: rate limits, connections per visitor, the reply cap, typing throttled.
//!
//! The rate limiters keep their own clock (governor's, and `Instant` for login failures), not
//! tokio's: pausing time cannot refill a budget. So these tests set a budget of 1 (or a few)
//! and check the refusal and that other keys keep theirs; the refill over time is covered by
//! the limiters' unit tests.

use std::time::Duration;

use parlor::domain::model::MessagePage;

use crate::support::backend::Backend;
use crate::support::chat::{code, TestChat};
use crate::support::events::{message_seqs, names};

fn page_seqs(page: &MessagePage) -> Vec<i64> {
    message_seqs(&page.messages)
}

async fn a_visitor_over_the_connection_cap_is_refused_until_a_tab_closes(backend: Backend) {
    let t = TestChat::with(backend, |s| s.max_sockets_per_visitor = 2).await;
    let site = t.site().await;
    let first = t.visitor(&site).await;
    let _second = t.another_tab(&site, &first).await;
    let refused = t
        .connect_visitor(&site.key, Some(first.token()))
        .await
        .err();
    assert_eq!(refused.as_deref(), Some("too_many_connections"));
    // Another visitor is not affected.
    t.visitor(&site).await;
    let token = first.token().to_owned();
    t.close_visitor(first);
    t.connect_visitor(&site.key, Some(&token))
        .await
        .expect("a closed tab gave its slot back");
}
both_backends!(a_visitor_over_the_connection_cap_is_refused_until_a_tab_closes);

async fn a_visitor_over_the_message_rate_is_refused_but_a_retry_still_gets_its_original(
    backend: Backend,
) {
    let t = TestChat::with(backend, |s| s.rate_limits.messages_per_visitor = 1).await;
    let site = t.site().await;
    let tab = t.visitor(&site).await;
    let other_visitor = t.visitor(&site).await;
    let original = t.visitor_send(&tab, "c-1", "hello").await.expect("send");
    assert_eq!(
        code(t.visitor_send(&tab, "c-2", "more").await),
        "rate_limited"
    );
    // Every tab of the visitor shares the budget.
    let other_tab = t.another_tab(&site, &tab).await;
    assert_eq!(
        code(t.visitor_send(&other_tab, "c-3", "more").await),
        "rate_limited"
    );
    let retry = t.visitor_send(&tab, "c-1", "hello").await.expect("retry");
    assert_eq!(retry, original);
    assert_eq!(
        page_seqs(&t.visitor_sync(&tab, 0).await.expect("sync")),
        [1]
    );
    t.visitor_says(&other_visitor, "mine is separate").await;
}
both_backends!(a_visitor_over_the_message_rate_is_refused_but_a_retry_still_gets_its_original);

async fn sync_and_history_share_one_budget_per_visitor(backend: Backend) {
    let t = TestChat::with(backend, |s| s.rate_limits.syncs_per_visitor = 2).await;
    let site = t.site().await;
    let tab = t.visitor(&site).await;
    let other_visitor = t.visitor(&site).await;
    t.visitor_sync(&tab, 0).await.expect("sync");
    t.visitor_history(&tab, 1, None).await.expect("history");
    assert_eq!(code(t.visitor_sync(&tab, 0).await), "rate_limited");
    assert_eq!(code(t.visitor_history(&tab, 1, None).await), "rate_limited");
    t.visitor_sync(&other_visitor, 0).await.expect("sync");
}
both_backends!(sync_and_history_share_one_budget_per_visitor);

async fn profile_and_page_share_one_budget_per_visitor(backend: Backend) {
    let t = TestChat::with(backend, |s| s.rate_limits.profile_updates_per_visitor = 1).await;
    let site = t.site().await;
    let tab = t.visitor(&site).await;
    let agent = t.agent(&site).await;
    t.profile(&tab, Some("Ada"), None, None)
        .await
        .expect("profile");
    t.events.clear();
    assert_eq!(
        code(t.page(&tab, "https://shop.example/", None).await),
        "rate_limited"
    );
    assert_eq!(
        code(t.profile(&tab, Some("Eve"), None, None).await),
        "rate_limited"
    );
    assert!(t.heard(&agent).is_empty());
    let summary = t.summary(&agent, &tab).await;
    assert_eq!(summary.visitor.name.as_deref(), Some("Ada"));
    assert!(summary.page.is_none());
}
both_backends!(profile_and_page_share_one_budget_per_visitor);

async fn reads_over_the_rate_leave_the_marker_where_it_was(backend: Backend) {
    let t = TestChat::with(backend, |s| s.rate_limits.reads_per_visitor = 1).await;
    let site = t.site().await;
    let tab = t.visitor(&site).await;
    let agent = t.agent(&site).await;
    t.agent_says(&agent, &tab, "one").await;
    t.agent_says(&agent, &tab, "two").await;
    t.visitor_read(&tab, 1).await.expect("read");
    t.events.clear();
    assert_eq!(code(t.visitor_read(&tab, 2).await), "rate_limited");
    assert!(t.heard(&agent).is_empty());
}
both_backends!(reads_over_the_rate_leave_the_marker_where_it_was);

async fn new_visitors_are_limited_per_address_and_returning_ones_per_visitor(backend: Backend) {
    let t = TestChat::with(backend, |s| {
        s.rate_limits.new_visitors_per_ip = 1;
        s.rate_limits.reconnects_per_visitor = 1;
    })
    .await;
    let site = t.site().await;
    let first = t
        .connect_visitor_from(&site.key, None, None, "192.0.2.1")
        .await
        .expect("the address's first new visitor");
    let refused = t
        .connect_visitor_from(&site.key, None, None, "192.0.2.1")
        .await
        .err();
    assert_eq!(refused.as_deref(), Some("rate_limited"));
    t.connect_visitor_from(&site.key, None, None, "192.0.2.2")
        .await
        .expect("another address");
    // A returning visitor is not a new one: its own budget, whatever the address.
    t.connect_visitor_from(&site.key, Some(first.token()), None, "192.0.2.1")
        .await
        .expect("the visitor's first reconnect");
    let refused = t
        .connect_visitor_from(&site.key, Some(first.token()), None, "192.0.2.3")
        .await
        .err();
    assert_eq!(refused.as_deref(), Some("rate_limited"));
}
both_backends!(new_visitors_are_limited_per_address_and_returning_ones_per_visitor);

async fn failed_logins_run_out_even_for_the_right_password(backend: Backend) {
    let t = TestChat::with(backend, |s| s.rate_limits.logins = 2).await;
    let site = t.site().await;
    let account = t.account(&site).await;
    // Successes are never charged.
    for _ in 0..3 {
        t.login(&account.username, &account.password)
            .await
            .expect("login");
    }
    for _ in 0..2 {
        assert_eq!(
            code(t.login(&account.username, "wrong").await),
            "unauthorized"
        );
    }
    assert_eq!(
        code(t.login(&account.username, &account.password).await),
        "rate_limited"
    );
    let colleague = t.account(&site).await;
    t.login(&colleague.username, &colleague.password)
        .await
        .expect("another username is not locked out");
}
both_backends!(failed_logins_run_out_even_for_the_right_password);

async fn visitor_typing_is_throttled_per_conversation(backend: Backend) {
    // A burst of 2, then one every 500 ms: the burst below takes far less.
    let t = TestChat::with(backend, |s| s.rate_limits.typing_per_second = 2).await;
    let site = t.site().await;
    let (tab, other_visitor) = (t.visitor(&site).await, t.visitor(&site).await);
    let agent = t.agent(&site).await;
    t.events.clear();
    for i in 0..20 {
        t.visitor_typing(&tab, i % 2 == 0).await;
    }
    assert_eq!(names(&t.heard(&agent)), ["typing"; 2]);
    t.visitor_typing(&other_visitor, true).await;
    assert_eq!(names(&t.heard(&agent)), ["typing"], "another conversation");
    // The budget refills on governor's clock: real time, not tokio's.
    tokio::time::sleep(Duration::from_millis(600)).await;
    t.visitor_typing(&tab, true).await;
    assert_eq!(names(&t.heard(&agent)), ["typing"]);
}
both_backends!(visitor_typing_is_throttled_per_conversation);

async fn pages_stop_short_at_the_reply_cap_and_say_has_more(backend: Backend) {
    // The smallest cap; a message of 4000 control characters is about 24 KB of JSON (each
    // one escaped as \u0001), so one fits in a reply and two do not.
    let t = TestChat::with(backend, |s| s.reply_max_bytes = 32 * 1024).await;
    let site = t.site().await;
    let tab = t.visitor(&site).await;
    let heavy = "\u{1}".repeat(4000);
    for _ in 0..3 {
        t.visitor_says(&tab, &heavy).await;
    }
    let mut synced = Vec::new();
    let mut after = 0;
    loop {
        let page = t.visitor_sync(&tab, after).await.expect("sync");
        synced.push((page_seqs(&page), page.has_more));
        if !page.has_more {
            break;
        }
        after = page.messages.last().expect("at least one").seq;
    }
    assert_eq!(synced, [(vec![1], true), (vec![2], true), (vec![3], false)]);
    // History keeps the newest that fit; the session too.
    let page = t.visitor_history(&tab, 4, None).await.expect("history");
    assert_eq!((page_seqs(&page), page.has_more), (vec![3], true));
    let again = t.another_tab(&site, &tab).await;
    let session = message_seqs(&again.session.messages);
    assert_eq!((session, again.session.has_more), (vec![3], true));
}
both_backends!(pages_stop_short_at_the_reply_cap_and_say_has_more);

async fn a_sync_page_holds_at_most_500_messages(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let tab = t.visitor(&site).await;
    for i in 0..501 {
        t.visitor_says(&tab, &format!("#{i}")).await;
    }
    let page = t.visitor_sync(&tab, 0).await.expect("sync");
    assert_eq!(page_seqs(&page), (1..=500).collect::<Vec<_>>());
    assert!(page.has_more);
    let rest = t.visitor_sync(&tab, 500).await.expect("sync");
    assert_eq!((page_seqs(&rest), rest.has_more), (vec![501], false));
}
both_backends!(a_sync_page_holds_at_most_500_messages);
