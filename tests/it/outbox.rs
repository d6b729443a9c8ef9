//! The e-mail outbox: each e-mail is claimed by one worker at a time (PostgreSQL's
//! `FOR UPDATE SKIP LOCKED`, SQLite's single writer), held for its lease, and claimable again
//! only when a retry comes due.

use std::collections::HashSet;

use parlor::domain::store::NewMail;

use crate::support::backend::Backend;
use crate::support::chat::TestChat;

const LEASE: i64 = 90_000;

async fn enqueue(t: &TestChat, site_id: &parlor::domain::ids::SiteId, n: usize, now: i64) {
    for i in 0..n {
        let id = format!("mail{i}");
        let queued = t
            .store()
            .enqueue_mail(NewMail {
                id: &id,
                dedupe_key: &format!("test:{i}"),
                site_id,
                recipient: "v@example.test",
                mail: "{}",
                now,
            })
            .await
            .expect("enqueued");
        assert!(queued);
    }
}

async fn two_workers_claiming_at_once_never_get_the_same_email(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let now = 1_000_000;
    enqueue(&t, &site.id, 40, now).await;
    let store = t.store();
    let claim = || async move {
        let mut got = Vec::new();
        loop {
            let batch = store.claim_mail(now, now + LEASE, 3).await.expect("claims");
            if batch.is_empty() {
                return got;
            }
            got.extend(batch.into_iter().map(|m| m.id));
        }
    };
    let (a, b) = tokio::join!(claim(), claim());
    let all: HashSet<_> = a.iter().chain(&b).cloned().collect();
    assert_eq!(a.len() + b.len(), 40, "each e-mail claimed exactly once");
    assert_eq!(all.len(), 40);
}
both_backends!(two_workers_claiming_at_once_never_get_the_same_email);

async fn a_claimed_email_is_held_for_its_lease_and_a_retry_waits_until_due(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let now = 1_000_000;
    enqueue(&t, &site.id, 1, now).await;
    let store = t.store();
    let first = store
        .claim_mail(now, now + LEASE, 10)
        .await
        .expect("claims");
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].attempts, 1);
    assert!(store
        .claim_mail(now + 1_000, now + 1_000 + LEASE, 10)
        .await
        .expect("claims")
        .is_empty());
    // A worker that died mid-send: the lease runs out and another takes it.
    let taken_over = store
        .claim_mail(now + LEASE, now + 2 * LEASE, 10)
        .await
        .expect("claims");
    assert_eq!(taken_over[0].attempts, 2);
    store
        .mail_retry(&taken_over[0].id, now + 3 * LEASE, "451 try later")
        .await
        .expect("retry recorded");
    assert!(store
        .claim_mail(now + 2 * LEASE, now + 3 * LEASE, 10)
        .await
        .expect("claims")
        .is_empty());
    let due = store
        .claim_mail(now + 3 * LEASE, now + 4 * LEASE, 10)
        .await
        .expect("claims");
    assert_eq!(due.len(), 1);
    store.mail_sent(&due[0].id, now).await.expect("sent");
    assert!(store
        .claim_mail(now + 10 * LEASE, now + 11 * LEASE, 10)
        .await
        .expect("claims")
        .is_empty());
}
both_backends!(a_claimed_email_is_held_for_its_lease_and_a_retry_waits_until_due);

async fn the_same_dedupe_key_is_queued_once(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let mail = |id: &'static str| NewMail {
        id,
        dedupe_key: "missed:conversation:7",
        site_id: &site.id,
        recipient: "v@example.test",
        mail: "{}",
        now: 1,
    };
    assert!(t.store().enqueue_mail(mail("a")).await.expect("queued"));
    assert!(!t.store().enqueue_mail(mail("b")).await.expect("no error"));
}
both_backends!(the_same_dedupe_key_is_queued_once);
