//! Uploads as the domain keeps them: the quota of a conversation (with or without a length),
//! the sweep of uploads never sent or cut short by a crash, and an upload taken by one message
//! only, however many sends race for it.

use parlor::domain::model::{now_millis, Message};
use parlor::domain::uploads::{Access, Variant, UNSENT_UPLOAD_TTL_MILLIS};
use parlor::domain::DomainResult;

use crate::support::backend::Backend;
use crate::support::chat::{code, TestChat};

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n";

async fn unsent_uploads_are_deleted_after_a_day_and_sent_ones_stay(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let visitor = t.visitor(&site).await;
    let sent = t
        .upload(visitor.token(), None, "sent.pdf", PDF)
        .await
        .expect("upload");
    let unsent = t
        .upload(visitor.token(), None, "unsent.pdf", PDF)
        .await
        .expect("upload");
    t.visitor_sends_files(&visitor, "c1", &[&sent.id])
        .await
        .expect("sent");

    let now = now_millis();
    assert_eq!(t.chat().sweep_unsent_uploads(now).await.expect("swept"), 0);
    let later = now + UNSENT_UPLOAD_TTL_MILLIS + 60_000;
    assert_eq!(
        t.chat().sweep_unsent_uploads(later).await.expect("swept"),
        1
    );

    let download = |id| {
        t.chat()
            .download(id, Variant::File, Access::Bearer(visitor.token()))
    };
    assert_eq!(
        code(download(unsent.id.as_str()).await.map(|d| d.size)),
        "not_found"
    );
    let kept = download(sent.id.as_str()).await.expect("kept");
    assert_eq!(kept.size, PDF.len() as u64);
}
both_backends!(unsent_uploads_are_deleted_after_a_day_and_sent_ones_stay);

async fn an_upload_cut_short_by_a_crash_cannot_be_used_and_is_swept_with_its_bytes(
    backend: Backend,
) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let visitor = t.visitor(&site).await;
    let first_half = [PDF, &[b' '; 64 * 1024]].concat();
    t.upload_cut_off_by_a_crash(visitor.token(), "half.pdf", &first_half)
        .await;
    let left = t.stored_files();
    assert_eq!(left.len(), 1, "the crash left part of a file: {left:?}");

    let later = now_millis() + UNSENT_UPLOAD_TTL_MILLIS + 60_000;
    let pending = t.store().unsent_uploads(later, 10).await.expect("read");
    assert_eq!(pending.len(), 1, "its row was written before its bytes");
    let id = &pending[0].id;
    let download = t
        .chat()
        .download(id.as_str(), Variant::File, Access::Bearer(visitor.token()))
        .await;
    assert_eq!(code(download.map(|d| d.size)), "not_found");
    let sent = t.visitor_sends_files(&visitor, "c1", &[id]).await;
    assert_eq!(code(sent), "invalid", "an upload not stored cannot be sent");

    assert_eq!(
        t.chat().sweep_unsent_uploads(later).await.expect("swept"),
        1
    );
    assert_eq!(t.stored_files(), Vec::<String>::new());
}
both_backends!(an_upload_cut_short_by_a_crash_cannot_be_used_and_is_swept_with_its_bytes);

async fn a_conversation_s_uploads_stop_at_its_quota(backend: Backend) {
    let t = TestChat::with(backend, |s| s.upload_quota = 2 * PDF.len() as u64).await;
    let site = t.site().await;
    let visitor = t.visitor(&site).await;
    for _ in 0..2 {
        t.upload(visitor.token(), None, "a.pdf", PDF)
            .await
            .expect("within the quota");
    }
    let over = t.upload(visitor.token(), None, "a.pdf", PDF).await;
    assert_eq!(code(over), "too_large");
    let other = t.visitor(&site).await;
    t.upload(other.token(), None, "a.pdf", PDF)
        .await
        .expect("another conversation has its own quota");
}
both_backends!(a_conversation_s_uploads_stop_at_its_quota);

async fn a_body_without_a_length_stops_at_the_conversation_s_quota(backend: Backend) {
    let t = TestChat::with(backend, |s| s.upload_quota = 3 * PDF.len() as u64 / 2).await;
    let site = t.site().await;
    let visitor = t.visitor(&site).await;
    t.upload_without_length(visitor.token(), "a.pdf", PDF)
        .await
        .expect("within the quota");
    let over = t.upload_without_length(visitor.token(), "b.pdf", PDF).await;
    assert_eq!(code(over), "too_large");
    assert_eq!(t.stored_files().len(), 1, "nothing kept of the second");
    let used = t
        .store()
        .conversation_upload_bytes(visitor.conversation_id())
        .await
        .expect("read");
    assert_eq!(used, PDF.len() as i64);
}
both_backends!(a_body_without_a_length_stops_at_the_conversation_s_quota);

async fn two_sends_racing_for_one_upload_attach_it_once(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let visitor = t.visitor(&site).await;
    let file = t
        .upload(visitor.token(), None, "once.pdf", PDF)
        .await
        .expect("upload");
    let ids = [&file.id];
    let (a, b) = tokio::join!(
        t.visitor_sends_files(&visitor, "first", &ids),
        t.visitor_sends_files(&visitor, "second", &ids),
    );
    let outcome = |r: DomainResult<Message>| r.map_or_else(|e| e.code(), |_| "ok");
    let codes = [outcome(a), outcome(b)];
    assert!(
        codes.contains(&"ok") && codes.contains(&"invalid"),
        "one send takes it, the other is refused: {codes:?}"
    );
    let history = t
        .visitor_history(&visitor, 100, None)
        .await
        .expect("history");
    let carrying: Vec<_> = history
        .messages
        .iter()
        .filter(|m| !m.attachments.is_empty())
        .collect();
    assert_eq!(carrying.len(), 1);
    assert_eq!(history.messages.len(), 1, "the refused send stored nothing");
}
both_backends!(two_sends_racing_for_one_upload_attach_it_once);
