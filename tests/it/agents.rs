//! The agent side: login, tokens and their revocation, replies, sites kept apart.

use parlor::domain::events::{AgentEvent, VisitorEvent};
use parlor::domain::ids::ConversationId;
use parlor::domain::model::Sender;

use crate::support::backend::Backend;
use crate::support::chat::{code, TestChat};
use crate::support::events::{names, seqs, Heard};

async fn login_gives_a_token_for_the_agents_own_site(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let account = t.account(&site).await;
    let grant = t
        .login(&account.username, &account.password)
        .await
        .expect("login");
    assert_eq!(grant.agent.id, account.id);
    assert_eq!(grant.agent.name, account.name);
    assert_eq!(grant.agent.site_id, site.id);
    let identity = t.authenticate(&grant.token).await.expect("the token");
    assert_eq!(identity.agent_id, account.id);
    assert_eq!(identity.site_id, site.id);
    assert_eq!(
        code(t.login(&account.username, "not the password").await),
        "unauthorized"
    );
    // A token that is not one of ours, or one altered by a byte, is refused.
    assert_eq!(code(t.authenticate("not.a.token").await), "unauthorized");
    let mut forged = grant.token.clone();
    let last = forged.pop().expect("a character");
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(code(t.authenticate(&forged).await), "unauthorized");
}
both_backends!(login_gives_a_token_for_the_agents_own_site);

async fn a_disabled_agent_can_neither_log_in_nor_act_on_an_open_connection(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let tab = t.visitor(&site).await;
    let agent = t.agent(&site).await;
    let token = t
        .login(&agent.account.username, &agent.account.password)
        .await
        .expect("login")
        .token;
    assert!(t.still_valid(&agent).await);
    t.disable(&agent.account).await;
    // Refused exactly like a wrong password.
    assert_eq!(
        code(
            t.login(&agent.account.username, &agent.account.password)
                .await
        ),
        "unauthorized"
    );
    assert_eq!(code(t.authenticate(&token).await), "unauthorized");
    // The revocation sweep closes the open connection; a send before it does is refused.
    assert!(!t.still_valid(&agent).await);
    t.events.clear();
    assert_eq!(
        code(
            t.agent_send(&agent, tab.conversation_id(), "c-1", "hi")
                .await
        ),
        "unauthorized"
    );
    assert!(t.heard(&tab).is_empty());
    let page = t.visitor_sync(&tab, 0).await.expect("sync");
    assert!(
        page.messages.is_empty(),
        "the refused send stored a message"
    );
}
both_backends!(a_disabled_agent_can_neither_log_in_nor_act_on_an_open_connection);

async fn an_agent_reply_reaches_the_visitors_tabs_and_every_other_agent_connection(
    backend: Backend,
) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let tab = t.visitor(&site).await;
    let other_tab = t.another_tab(&site, &tab).await;
    let sender = t.agent(&site).await;
    // The same agent in a second browser tab, and a colleague.
    let same_agent_elsewhere = t.connect_agent(&sender.account).await;
    let colleague = t.agent(&site).await;
    t.events.clear();
    let reply = t.agent_says(&sender, &tab, "Hi, how can I help?").await;
    assert_eq!(reply.seq, 1);
    assert_eq!(reply.sender, Sender::Agent);
    assert_eq!(
        reply.agent_name.as_deref(),
        Some(sender.account.name.as_str())
    );
    for visitor_tab in [&tab, &other_tab] {
        assert_eq!(seqs(&t.heard(visitor_tab)), [1]);
    }
    assert_eq!(seqs(&t.heard(&same_agent_elsewhere)), [1]);
    assert_eq!(seqs(&t.heard(&colleague)), [1]);
    assert!(t.heard(&sender).is_empty(), "the sender has its ack");
}
both_backends!(an_agent_reply_reaches_the_visitors_tabs_and_every_other_agent_connection);

async fn an_agent_of_another_site_gets_not_found_for_a_conversation(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let tab = t.visitor(&site).await;
    let own_agent = t.agent(&site).await;
    let stranger = t.agent(&t.site().await).await;
    t.visitor_says(&tab, "private").await;
    t.events.clear();
    let before = t.events.emitted();
    for conversation in [tab.conversation_id().as_str(), "no-such-conversation"] {
        assert_eq!(
            code(t.agent_send(&stranger, conversation, "c-1", "hi").await),
            "not_found"
        );
        assert_eq!(
            code(t.agent_history(&stranger, conversation, 10, None).await),
            "not_found"
        );
        assert_eq!(
            code(t.agent_sync(&stranger, conversation, 0).await),
            "not_found"
        );
        assert_eq!(
            code(t.agent_read(&stranger, conversation, 1).await),
            "not_found"
        );
        assert_eq!(code(t.end(&stranger, conversation).await), "not_found");
        assert_eq!(
            code(t.agent_typing(&stranger, conversation, true).await),
            "not_found"
        );
    }
    assert_eq!(
        t.events.emitted(),
        before,
        "a refused request was announced"
    );
    let page = t
        .agent_sync(&own_agent, tab.conversation_id(), 0)
        .await
        .expect("sync");
    assert_eq!(page.messages.len(), 1, "another site's agent wrote");
    assert_eq!(t.summary(&own_agent, &tab).await.status.as_str(), "open");
    // Its list shows none of this site's conversations.
    let theirs = t.list(&stranger, None, None, None).await.expect("list");
    assert!(theirs.conversations.is_empty());
}
both_backends!(an_agent_of_another_site_gets_not_found_for_a_conversation);

async fn the_agents_of_a_site_are_one_side_for_idempotency(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let tab = t.visitor(&site).await;
    let (ann, bob) = (t.agent(&site).await, t.agent(&site).await);
    let first = t
        .agent_send(&ann, tab.conversation_id(), "shared", "from Ann")
        .await
        .expect("send");
    t.events.clear();
    let second = t
        .agent_send(&bob, tab.conversation_id(), "shared", "from Bob")
        .await
        .expect("send");
    assert_eq!(second, first, "the second agent got the original");
    assert!(t.heard(&tab).is_empty() && t.heard(&ann).is_empty());
    // The visitor is the other side: the same clientId is a message of its own.
    let visitors = t
        .visitor_send(&tab, "shared", "from the visitor")
        .await
        .expect("send");
    assert_eq!(visitors.seq, 2);
}
both_backends!(the_agents_of_a_site_are_one_side_for_idempotency);

async fn an_agent_read_tells_the_visitor_and_the_other_agents_and_clears_unread(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let tab = t.visitor(&site).await;
    let (reader, colleague) = (t.agent(&site).await, t.agent(&site).await);
    for text in ["one", "two", "three"] {
        t.visitor_says(&tab, text).await;
    }
    t.agent_says(&reader, &tab, "reading").await;
    assert_eq!(t.summary(&reader, &tab).await.unread, 3);
    t.events.clear();
    t.agent_read(&reader, tab.conversation_id(), 2)
        .await
        .expect("read");
    let heard = t.heard(&tab);
    let [Heard::Visitor(VisitorEvent::Read(read))] = heard.as_slice() else {
        panic!("expected one read, heard {heard:?}");
    };
    assert_eq!(read.seq, 2);
    let heard = t.heard(&colleague);
    let [Heard::Agent(AgentEvent::Read(read))] = heard.as_slice() else {
        panic!("expected one read, heard {heard:?}");
    };
    assert_eq!(
        (&read.conversation_id, read.seq),
        (tab.conversation_id(), 2)
    );
    assert!(t.heard(&reader).is_empty());
    // Unread counts the visitor's messages above the agents' marker only.
    assert_eq!(t.summary(&reader, &tab).await.unread, 1);
    // The marker is the site's: a colleague's read at or below it changes nothing.
    let before = t.events.emitted();
    for seq in [2, 1] {
        t.agent_read(&colleague, tab.conversation_id(), seq)
            .await
            .expect("read");
    }
    assert_eq!(t.events.emitted(), before);
    assert_eq!(
        code(t.agent_read(&reader, tab.conversation_id(), 5).await),
        "invalid"
    );
}
both_backends!(an_agent_read_tells_the_visitor_and_the_other_agents_and_clears_unread);

async fn agent_typing_reaches_the_visitors_tabs_with_the_agents_name(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let tab = t.visitor(&site).await;
    let other_tab = t.another_tab(&site, &tab).await;
    let (typist, colleague) = (t.agent(&site).await, t.agent(&site).await);
    t.events.clear();
    t.agent_typing(&typist, tab.conversation_id(), true)
        .await
        .expect("typing");
    for visitor_tab in [&tab, &other_tab] {
        let heard = t.heard(visitor_tab);
        let [Heard::Visitor(VisitorEvent::Typing(typing))] = heard.as_slice() else {
            panic!("expected one typing, heard {heard:?}");
        };
        assert!(typing.typing);
        assert_eq!(typing.agent_name, typist.account.name);
    }
    assert!(
        t.heard(&colleague).is_empty(),
        "agents' typing is not relayed to agents"
    );
}
both_backends!(agent_typing_reaches_the_visitors_tabs_with_the_agents_name);

async fn an_agent_connection_starts_with_its_sites_conversations(backend: Backend) {
    let t = TestChat::start(backend).await;
    let (site, other_site) = (t.site().await, t.site().await);
    let ours = [t.visitor(&site).await, t.visitor(&site).await];
    t.visitor(&other_site).await;
    let agent = t.agent(&site).await;
    let listed: Vec<&ConversationId> = agent
        .conversations
        .conversations
        .iter()
        .map(|s| &s.id)
        .collect();
    // Newest activity first.
    assert_eq!(
        listed,
        [ours[1].conversation_id(), ours[0].conversation_id()]
    );
    assert!(!agent.conversations.has_more);
    assert!(agent.conversations.conversations.iter().all(|s| s.online));
    assert_eq!(names(&t.heard(&agent)), Vec::<&str>::new());
}
both_backends!(an_agent_connection_starts_with_its_sites_conversations);

async fn a_password_change_revokes_the_tokens_issued_before_it(backend: Backend) {
    let t = TestChat::start(backend).await;
    let site = t.site().await;
    let agent = t.agent(&site).await;
    let old = t
        .login(&agent.account.username, &agent.account.password)
        .await
        .expect("login")
        .token;
    let account = t.change_password(&agent.account).await;
    assert_eq!(code(t.authenticate(&old).await), "unauthorized");
    assert!(!t.still_valid(&agent).await);
    assert_eq!(
        code(t.login(&account.username, &agent.account.password).await),
        "unauthorized"
    );
    let new = t
        .login(&account.username, &account.password)
        .await
        .expect("login with the new password");
    t.authenticate(&new.token).await.expect("the new token");
}
both_backends!(a_password_change_revokes_the_tokens_issued_before_it);
