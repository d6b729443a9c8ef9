//! Hot pure functions on the message path, so that regressions show: payload validation and
//! message encoding. `cargo bench --bench hot_paths`. Timings are reported, never asserted.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use parlor::domain::ids::{ConversationId, MessageId};
use parlor::domain::input::MessageText;
use parlor::domain::model::{Message, Sender};
use serde_json::json;

fn message(text: &str) -> Message {
    Message {
        id: MessageId::parse("6217ba7bd7a54921aa9422c2a7849308").expect("an id"),
        conversation_id: ConversationId::parse("4fb635e790434b079f91af2886d21f85").expect("an id"),
        seq: 42,
        sender: Sender::Visitor,
        agent_name: None,
        text: text.into(),
        client_id: Some("c-1764090600123-17".into()),
        created_at: 1_764_090_600_123,
        attachments: Vec::new(),
    }
}

fn validation(c: &mut Criterion) {
    let short = "  Hello, I have a question about my order #1234  ";
    let long = "é".repeat(3999);
    c.bench_function("MessageText::parse short", |b| {
        b.iter(|| MessageText::parse(black_box(short)))
    });
    c.bench_function("MessageText::parse 3999 chars", |b| {
        b.iter(|| MessageText::parse(black_box(&long)))
    });
}

fn encoding(c: &mut Criterion) {
    let m = message("Hello, I have a question about my order #1234");
    c.bench_function("Message to_string", |b| {
        b.iter(|| serde_json::to_string(black_box(&m)))
    });
    c.bench_function("Message in ack envelope (json! + to_string)", |b| {
        b.iter(|| {
            let v = json!({ "ok": true, "message": black_box(&m) });
            serde_json::to_string(&v)
        })
    });
    let long = message(&"é".repeat(3999));
    c.bench_function("Message to_string 3999 chars", |b| {
        b.iter(|| serde_json::to_string(black_box(&long)))
    });
}

criterion_group!(benches, validation, encoding);
criterion_main!(benches);
