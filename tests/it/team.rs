//! A site's admins: the site keeps its last enabled admin, even against two changes at once.

use parlor::domain::model::Role;
use parlor::domain::store::{AgentChange, AgentChanged};

use crate::support::backend::Backend;
use crate::support::chat::TestChat;

async fn two_admins_demoting_each_other_at_once_leave_exactly_one(backend: Backend) {
    let t = TestChat::start(backend).await;
    for round in 0..20 {
        let site = t.site().await;
        let (a, b) = (t.admin(&site).await, t.admin(&site).await);
        let store = t.store();
        let demote = |username: String| async move {
            store
                .change_agent(&username, AgentChange::Role(Role::Agent))
                .await
                .expect("the change runs")
        };
        let (first, second) = tokio::join!(demote(a.username), demote(b.username));
        let mut outcomes = [first, second];
        outcomes.sort_by_key(|o| *o != AgentChanged::Done);
        assert_eq!(
            outcomes,
            [AgentChanged::Done, AgentChanged::LastAdmin],
            "round {round}"
        );
    }
}
both_backends!(two_admins_demoting_each_other_at_once_leave_exactly_one);

async fn the_last_enabled_admin_is_kept_and_a_disabled_one_does_not_count(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let (boss, other) = (t.admin(&site).await, t.admin(&site).await);
    let store = t.store();
    let change = |username: &str, change| {
        let username = username.to_owned();
        async move { store.change_agent(&username, change).await.expect("runs") }
    };
    assert_eq!(
        change(&other.username, AgentChange::Disabled(true)).await,
        AgentChanged::Done
    );
    let tombstone = format!("deleted:{}", boss.id);
    for refused in [
        AgentChange::Role(Role::Agent),
        AgentChange::Disabled(true),
        AgentChange::Delete {
            tombstone: &tombstone,
            now: 1,
        },
    ] {
        assert_eq!(
            change(&boss.username, refused).await,
            AgentChanged::LastAdmin,
            "{refused:?}"
        );
    }
    // A plain agent and a disabled admin may change freely.
    let plain = t.account(&site).await;
    assert_eq!(
        change(&plain.username, AgentChange::Disabled(true)).await,
        AgentChanged::Done
    );
    assert_eq!(
        change(&other.username, AgentChange::Role(Role::Agent)).await,
        AgentChanged::Done
    );
    assert_eq!(
        change("nobody-has-this-name", AgentChange::Disabled(true)).await,
        AgentChanged::NoSuchAgent
    );
}
both_backends!(the_last_enabled_admin_is_kept_and_a_disabled_one_does_not_count);
