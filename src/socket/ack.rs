//! The acknowledgement envelope: `{ ok: true, ... }` or `{ ok: false, error: { code, message } }`,
//! and parsing of event payloads into typed requests.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};
use socketioxide::adapter::Adapter;
use socketioxide::extract::AckSender;
use socketioxide::ParserError;

use crate::domain::{DomainError, DomainResult};

/// Answers a request exactly once. `body` must serialize to an object; `ok: true` is added.
pub fn reply<A: Adapter, T: Serialize>(ack: AckSender<A>, result: DomainResult<T>) {
    let envelope = match result.and_then(|body| {
        serde_json::to_value(body).map_err(|e| DomainError::invalid(e.to_string()))
    }) {
        Ok(Value::Object(mut fields)) => {
            fields.insert("ok".into(), Value::Bool(true));
            Value::Object(fields)
        }
        Ok(_) => {
            let mut fields = Map::new();
            fields.insert("ok".into(), Value::Bool(true));
            Value::Object(fields)
        }
        Err(e) => error_envelope(&e),
    };
    // Fails only when the client sent no ack id or has gone; neither needs an answer.
    let _ = ack.send(&envelope);
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
}
