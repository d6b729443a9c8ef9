//! The acknowledgement envelope: `{ ok: true, ... }` or `{ ok: false, error: { code, message } }`,
//! and parsing of event payloads into typed requests.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::to_raw_value;
use serde_json::{json, Value};
use socketioxide::adapter::Adapter;
use socketioxide::extract::AckSender;
use socketioxide::ParserError;

use crate::domain::model::Message;
use crate::domain::{DomainError, DomainResult};

/// Answers a request exactly once. `body` must serialize to an object (a struct or a map);
/// `ok: true` is added. Serialized straight to JSON text, without a `Value` in between: a
/// message's ack is on every send's path (docs/benchmarks.md, "Seventh round").
pub fn reply<A: Adapter, T: Serialize>(ack: AckSender<A>, result: DomainResult<T>) {
    let envelope = result.and_then(|body| {
        to_raw_value(&Answered { ok: true, body }).map_err(|e| DomainError::invalid(e.to_string()))
    });
    // Fails only when the client sent no ack id or has gone; neither needs an answer.
    let _ = match envelope {
        Ok(envelope) => ack.send(&envelope),
        Err(e) => ack.send(&error_envelope(&e)),
    };
}

/// The answer to `send`, in both namespaces.
#[derive(Serialize)]
pub struct Sent {
    pub message: Message,
}

/// A successful answer: `ok: true` and the body's fields.
#[derive(Serialize)]
struct Answered<T> {
    ok: bool,
    #[serde(flatten)]
    body: T,
}

pub fn error_envelope(e: &DomainError) -> Value {
    let message = match e {
        DomainError::Internal(cause) => {
            tracing::error!(error = %cause, "request failed");
            "internal error".to_owned()
        }
        DomainError::Files(cause) => {
            tracing::error!(error = %cause, "request failed");
            "internal error".to_owned()
        }
        other => other.to_string(),
    };
    json!({ "ok": false, "error": { "code": e.code(), "message": message } })
}

/// Parses an event payload; anything that does not fit the request type is `invalid`.
pub fn parse<T: DeserializeOwned>(data: Result<Value, ParserError>) -> DomainResult<T> {
    let value = data.map_err(|_| DomainError::invalid("payload is not JSON"))?;
    if !value.is_object() {
        return Err(DomainError::invalid("payload must be an object"));
    }
    serde_json::from_value(value).map_err(|e| DomainError::invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Send {
        text: String,
    }

    #[test]
    fn wrong_types_are_invalid() {
        let e = parse::<Send>(Ok(json!({ "text": 5 }))).unwrap_err();
        assert_eq!(e.code(), "invalid");
        let e = parse::<Send>(Ok(json!("text"))).unwrap_err();
        assert_eq!(e.code(), "invalid");
    }

    #[test]
    fn errors_carry_code_and_message() {
        let v = error_envelope(&DomainError::NotFound);
        assert_eq!(
            v,
            json!({ "ok": false, "error": { "code": "not_found", "message": "not found" } })
        );
    }

    #[test]
    fn an_answer_is_ok_with_the_fields_of_its_body() {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Page {
            has_more: bool,
        }
        let answer = |body| serde_json::to_value(Answered { ok: true, body }).unwrap();
        assert_eq!(answer(json!({ "a": 1 })), json!({ "ok": true, "a": 1 }));
        assert_eq!(answer(json!({})), json!({ "ok": true }));
        let page = serde_json::to_value(Answered {
            ok: true,
            body: Page { has_more: false },
        })
        .unwrap();
        assert_eq!(page, json!({ "ok": true, "hasMore": false }));
    }
}
