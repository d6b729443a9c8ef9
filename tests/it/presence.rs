//! Presence: a member is online while any of its connections is; "offline" is announced only
//! after the grace period, and not at all when a connection comes back within it.
//!
//! The grace timer runs on tokio's clock, which these tests pause once the database work of
//! the setup is done and then move by hand: a paused runtime jumps to its next timer whenever
//! it would wait, so a store call made while paused would fire the grace timer (and the pool's
//! timeouts) early. A step that needs the database runs in `real_time`.

use std::future::Future;
use std::time::Duration;

use parlor::domain::events::{AgentEvent, VisitorEvent};
use parlor::domain::ids::ConversationId;

use crate::support::backend::Backend;
use crate::support::chat::TestChat;
use crate::support::events::Heard;
use crate::support::settle;

const GRACE: Duration = Duration::from_secs(5);
const TICK: Duration = Duration::from_millis(1);

/// Runs a step that talks to the database with the clock running, then pauses it again.
async fn real_time<T>(step: impl Future<Output = T>) -> T {
    tokio::time::resume();
    let out = step.await;
    tokio::time::pause();
    out
}

/// Moves the paused clock and lets what became due run. Settle first after closing a
/// connection: the grace timer starts when its task first runs, not when it is spawned.
async fn advance(by: Duration) {
    tokio::time::advance(by).await;
    settle().await;
}

fn agents_online(heard: &[Heard]) -> Vec<bool> {
    heard
        .iter()
        .filter_map(|h| match h {
            Heard::Visitor(VisitorEvent::Presence(p)) => Some(p.agents_online),
            _ => None,
        })
        .collect()
}

fn visitors_online(heard: &[Heard]) -> Vec<(ConversationId, bool)> {
    heard
        .iter()
        .filter_map(|h| match h {
            Heard::Agent(AgentEvent::Presence(p)) => Some((p.conversation_id.clone(), p.online)),
            _ => None,
        })
        .collect()
}

async fn the_first_agent_connection_is_announced_to_the_sites_visitors(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let tab = t.visitor(&site).await;
    let other_site_tab = t.visitor(&t.site().await).await;
    assert!(!tab.session.agents_online);
    let first = t.agent(&site).await;
    assert_eq!(agents_online(&t.heard(&tab)), [true]);
    // A second connection changes nothing.
    let _second = t.connect_agent(&first.account).await;
    assert!(agents_online(&t.heard(&tab)).is_empty());
    assert!(t.heard(&other_site_tab).is_empty());
    let late = t.another_tab(&site, &tab).await;
    assert!(late.session.agents_online);
}
both_backends!(the_first_agent_connection_is_announced_to_the_sites_visitors);

async fn agents_going_offline_is_announced_only_after_the_grace_period(backend: Backend) {
    let t = TestChat::with(backend, |s| s.presence_grace = GRACE).await;
    let site = t.site().await;
    let tab = t.visitor(&site).await;
    let (ann, bob) = (t.agent(&site).await, t.agent(&site).await);
    t.events.clear();
    tokio::time::pause();
    // One of two agent connections closing is no change at all.
    t.close_agent(ann);
    settle().await;
    advance(GRACE * 2).await;
    assert!(agents_online(&t.heard(&tab)).is_empty());
    t.close_agent(bob);
    settle().await;
    advance(GRACE - TICK).await;
    assert!(
        agents_online(&t.heard(&tab)).is_empty(),
        "offline within the grace period"
    );
    // Timers fire on whole milliseconds, rounded up: one more past the deadline.
    advance(2 * TICK).await;
    assert_eq!(agents_online(&t.heard(&tab)), [false]);
}
both_backends!(agents_going_offline_is_announced_only_after_the_grace_period);

async fn an_agent_reconnecting_within_the_grace_period_is_not_announced_offline(backend: Backend) {
    let t = TestChat::with(backend, |s| s.presence_grace = GRACE).await;
    let site = t.site().await;
    let tab = t.visitor(&site).await;
    let agent = t.agent(&site).await;
    let account = agent.account.clone();
    t.events.clear();
    tokio::time::pause();
    t.close_agent(agent);
    settle().await;
    advance(GRACE / 2).await;
    let _back = real_time(t.connect_agent(&account)).await;
    advance(GRACE * 2).await;
    assert!(
        t.heard(&tab).is_empty(),
        "a reconnect within the grace period flapped"
    );
}
both_backends!(an_agent_reconnecting_within_the_grace_period_is_not_announced_offline);

async fn a_visitor_going_offline_is_announced_to_the_agents_after_the_grace_period(
    backend: Backend,
) {
    let t = TestChat::with(backend, |s| s.presence_grace = GRACE).await;
    let site = t.site().await;
    let agent = t.agent(&site).await;
    let tab = t.visitor(&site).await;
    let other_tab = t.another_tab(&site, &tab).await;
    let conversation = tab.conversation_id().clone();
    t.events.clear();
    tokio::time::pause();
    t.close_visitor(tab);
    settle().await;
    advance(GRACE * 2).await;
    assert!(
        visitors_online(&t.heard(&agent)).is_empty(),
        "offline while another tab is open"
    );
    t.close_visitor(other_tab);
    settle().await;
    advance(GRACE - TICK).await;
    assert!(visitors_online(&t.heard(&agent)).is_empty());
    // Timers fire on whole milliseconds, rounded up: one more past the deadline.
    advance(2 * TICK).await;
    assert_eq!(visitors_online(&t.heard(&agent)), [(conversation, false)]);
}
both_backends!(a_visitor_going_offline_is_announced_to_the_agents_after_the_grace_period);

async fn a_visitor_reload_within_the_grace_period_does_not_flap(backend: Backend) {
    let t = TestChat::with(backend, |s| s.presence_grace = GRACE).await;
    let site = t.site().await;
    let agent = t.agent(&site).await;
    let tab = t.visitor(&site).await;
    t.events.clear();
    tokio::time::pause();
    let token = tab.token().to_owned();
    t.close_visitor(tab);
    settle().await;
    // Halfway: the reconnect runs on the real clock, and the rest of the grace period is
    // its margin on a busy machine.
    advance(GRACE / 2).await;
    let reloaded = real_time(t.connect_visitor(&site.key, Some(&token)))
        .await
        .expect("the same visitor");
    advance(GRACE * 2).await;
    assert!(t.heard(&agent).is_empty(), "a reload flapped");
    // Still online in the list.
    let summary = real_time(t.summary(&agent, &reloaded)).await;
    assert!(summary.online);
}
both_backends!(a_visitor_reload_within_the_grace_period_does_not_flap);
