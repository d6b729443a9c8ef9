//! The real server (`App::build`, `run_until`) on port 0, over the network: HTTP and
//! Socket.IO clients against the whole stack, on both backends.

use serde_json::json;

use crate::support::backend::Backend;
use crate::support::server::TestServer;

async fn the_server_starts_on_port_0_and_healthz_answers(backend: Backend) {
    let server = TestServer::start(backend).await;
    assert_ne!(server.addr.port(), 0);
    let health = server.get("/healthz").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json(), json!({ "database": "ok" }));
}
both_backends!(the_server_starts_on_port_0_and_healthz_answers);

async fn readyz_answers_like_healthz_and_metrics_are_not_public(backend: Backend) {
    let server = TestServer::start(backend).await;
    let ready = server.get("/readyz").await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json(), json!({ "database": "ok" }));
    assert_eq!(server.get("/metrics").await.status, 404);
}
both_backends!(readyz_answers_like_healthz_and_metrics_are_not_public);

async fn a_visitor_connects_with_a_site_key_and_gets_its_session(backend: Backend) {
    let server = TestServer::start(backend).await;
    let site = server.site().await;
    let visitor = server
        .visitor(json!({ "siteKey": site.key }))
        .await
        .expect("admitted");
    let session = visitor.next("session").await;
    let token = session["token"].as_str().expect("a token");
    assert_eq!(session["conversation"]["status"], "open");
    assert_eq!(session["messages"], json!([]));
    assert_eq!(session["hasMore"], false);
    assert_eq!(session["agentsOnline"], false);
    // The token brings the same visitor back.
    let again = server
        .visitor(json!({ "siteKey": site.key, "token": token }))
        .await
        .expect("admitted");
    let resumed = again.next("session").await;
    assert_eq!(resumed["conversation"]["id"], session["conversation"]["id"]);
    assert_eq!(resumed["visitor"]["id"], session["visitor"]["id"]);
}
both_backends!(a_visitor_connects_with_a_site_key_and_gets_its_session);

async fn an_agent_logs_in_over_http_and_connects_to_agent(backend: Backend) {
    let server = TestServer::start(backend).await;
    let site = server.site().await;
    let account = server.account(&site).await;
    let login = server.login(&account.username, &account.password).await;
    assert_eq!(login.status, 200);
    let body = login.json();
    assert_eq!(
        body["agent"],
        json!({ "id": account.id, "name": account.name, "siteId": site.id, "role": "agent" })
    );
    let refused = server.login(&account.username, "wrong password").await;
    assert_eq!(refused.status, 401);
    assert!(refused.json()["error"].is_string());
    let token = body["token"].as_str().expect("a token");
    let agent = server.agent(token).await.expect("connected");
    let list = agent.next("conversations").await;
    assert_eq!(list, json!({ "conversations": [], "hasMore": false }));
}
both_backends!(an_agent_logs_in_over_http_and_connects_to_agent);

async fn a_visitors_message_reaches_the_agents_socket_with_its_seq(backend: Backend) {
    let server = TestServer::start(backend).await;
    let site = server.site().await;
    let token = server.token(&server.account(&site).await).await;
    let agent = server.agent(&token).await.expect("connected");
    agent.next("conversations").await;
    let visitor = server
        .visitor(json!({ "siteKey": site.key }))
        .await
        .expect("admitted");
    let session = visitor.next("session").await;
    let conversation_id = session["conversation"]["id"].clone();
    assert_eq!(agent.next("conversation").await["id"], conversation_id);
    for (seq, text) in [(1, "hello"), (2, "is anyone there?")] {
        let ack = visitor
            .request(
                "send",
                json!({ "clientId": format!("c-{seq}"), "text": text }),
            )
            .await;
        assert_eq!(ack["ok"], true, "{ack}");
        assert_eq!(ack["message"]["seq"], seq);
        let heard = agent.next("message").await;
        assert_eq!(heard, ack["message"]);
        assert_eq!(heard["conversationId"], conversation_id);
        assert_eq!(heard["sender"], "visitor");
    }
    // And the reply the other way, acked to the agent, delivered to the visitor.
    let reply = agent
        .request(
            "send",
            json!({ "conversationId": conversation_id, "clientId": "r-1", "text": "Hi!" }),
        )
        .await;
    assert_eq!(reply["message"]["seq"], 3);
    assert_eq!(visitor.next("message").await, reply["message"]);
    // An event without an ack is processed all the same.
    visitor.emit("typing", json!({ "typing": true }));
    let typing = agent.next("typing").await;
    assert_eq!(
        typing,
        json!({ "conversationId": conversation_id, "typing": true })
    );
    // Errors come back in the ack envelope.
    let invalid = visitor
        .request("send", json!({ "text": "no clientId" }))
        .await;
    assert_eq!(invalid["ok"], false);
    assert_eq!(invalid["error"]["code"], "invalid");
    assert!(!visitor.pending().contains(&"message".to_owned()));
}
both_backends!(a_visitors_message_reaches_the_agents_socket_with_its_seq);

async fn a_handshake_with_a_bad_site_key_or_token_gets_connect_error(backend: Backend) {
    let server = TestServer::start(backend).await;
    for auth in [
        json!({ "siteKey": "pk_no_such_site" }),
        json!({}),
        json!("x"),
    ] {
        let refused = server.visitor(auth.clone()).await.err();
        assert_eq!(refused.as_deref(), Some("unknown_site"), "{auth}");
    }
    let refused = server.agent("not a token").await.err();
    assert_eq!(refused.as_deref(), Some("unauthorized"));
}
both_backends!(a_handshake_with_a_bad_site_key_or_token_gets_connect_error);
