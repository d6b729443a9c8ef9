//! The verdict of a chaos run: the database, read with its own command-line client (not
//! through Parlor), against what the server acknowledged and what every client holds.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::Stdio;

use anyhow::{bail, Context};
use serde::Serialize;
use tokio::process::Command;

use super::clients::Report;

/// One stored message.
pub struct Stored {
    pub id: String,
    pub sender: String,
    pub client_id: String,
}

/// Conversation → seq → message, as the database holds it.
pub type Stores = HashMap<String, BTreeMap<u64, Stored>>;

/// Reads every message with `psql` (a `postgres://` URL) or `sqlite3` (a `sqlite://` URL).
pub async fn read_messages(database_url: &str) -> anyhow::Result<Stores> {
    const SQL: &str = "SELECT conversation_id, seq, id, sender, COALESCE(client_id, '') \
                       FROM messages ORDER BY conversation_id, seq";
    let out = if let Some(path) = database_url.strip_prefix("sqlite://") {
        Command::new("sqlite3")
            .args([
                "-readonly",
                "-separator",
                "|",
                path.split('?').next().unwrap_or(path),
                SQL,
            ])
            .stdin(Stdio::null())
            .output()
            .await
            .context("running sqlite3 (Debian package sqlite3)")?
    } else {
        Command::new("psql")
            .args([
                database_url,
                "-X",
                "-v",
                "ON_ERROR_STOP=1",
                "-qAt",
                "-F",
                "|",
                "-c",
                SQL,
            ])
            .stdin(Stdio::null())
            .output()
            .await
            .context("running psql")?
    };
    if !out.status.success() {
        bail!(
            "reading the messages failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut stores = Stores::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('|').collect();
        let [conv, seq, id, sender, client_id] = f[..] else {
            bail!("unexpected row {line:?}");
        };
        stores.entry(conv.to_owned()).or_default().insert(
            seq.parse().with_context(|| format!("seq in {line:?}"))?,
            Stored {
                id: id.to_owned(),
                sender: sender.to_owned(),
                client_id: client_id.to_owned(),
            },
        );
    }
    Ok(stores)
}

/// What the run found; every count but `stored` must be 0.
#[derive(Serialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub stored: usize,
    pub acked: usize,
    /// Acknowledged with `ok: true`, but not in the database as acknowledged.
    pub lost: usize,
    /// One `clientId` stored more than once in a conversation, on the same side.
    pub duplicated: usize,
    /// Stored messages that no client was ever told were stored (every send is retried until
    /// acknowledged, so each stored message must have an ack).
    pub stored_unacked: usize,
    /// Missing `seq` values below a conversation's highest.
    pub seq_gaps: usize,
    /// Sends still without `ok: true` at the end.
    pub unresolved: usize,
    /// Stored messages that a client who should hold them does not hold at the end.
    pub client_missing: usize,
    /// Messages a client holds that differ from the database (wrong id at a seq, or a seq
    /// the database does not have).
    pub client_wrong: usize,
}

impl Verdict {
    pub fn clean(&self) -> bool {
        self.lost
            + self.duplicated
            + self.stored_unacked
            + self.seq_gaps
            + self.unresolved
            + self.client_missing
            + self.client_wrong
            == 0
    }
}

/// `visitors` hold their own conversation, `agents` every conversation of the site.
pub fn verdict(stores: &Stores, visitors: &[Report], agents: &[Report]) -> Verdict {
    let mut v = Verdict {
        stored: stores.values().map(BTreeMap::len).sum(),
        ..Verdict::default()
    };

    for thread in stores.values() {
        let last = thread.last_key_value().map_or(0, |(&s, _)| s);
        v.seq_gaps += (1..=last).filter(|s| !thread.contains_key(s)).count();
        let mut seen = HashSet::new();
        for m in thread.values() {
            if !m.client_id.is_empty() && !seen.insert((m.sender.as_str(), m.client_id.as_str())) {
                v.duplicated += 1;
            }
        }
    }

    let mut acked_ids = HashSet::new();
    for r in visitors.iter().chain(agents) {
        v.unresolved += r.unresolved;
        for a in &r.acked {
            v.acked += 1;
            acked_ids.insert(a.id.as_str());
            let stored = stores.get(&a.conversation).and_then(|t| t.get(&a.seq));
            if !stored.is_some_and(|m| m.id == a.id && m.client_id == a.client_id) {
                v.lost += 1;
            }
        }
    }
    v.stored_unacked = stores
        .values()
        .flat_map(BTreeMap::values)
        .filter(|m| !acked_ids.contains(m.id.as_str()))
        .count();

    let mut compare = |held: Option<&BTreeMap<u64, String>>, thread: &BTreeMap<u64, Stored>| {
        let empty = BTreeMap::new();
        let held = held.unwrap_or(&empty);
        for (seq, m) in thread {
            match held.get(seq) {
                None => v.client_missing += 1,
                Some(id) if *id != m.id => v.client_wrong += 1,
                Some(_) => {}
            }
        }
        v.client_wrong += held.keys().filter(|s| !thread.contains_key(s)).count();
    };
    for r in visitors {
        for (conv, held) in &r.held {
            match stores.get(conv) {
                Some(thread) => compare(Some(held), thread),
                None => compare(Some(held), &BTreeMap::new()),
            }
        }
    }
    for r in agents {
        for (conv, thread) in stores {
            compare(r.held.get(conv), thread);
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::super::clients::Acked;
    use super::*;

    fn stored(id: &str, sender: &str, client_id: &str) -> Stored {
        Stored {
            id: id.into(),
            sender: sender.into(),
            client_id: client_id.into(),
        }
    }

    fn visitor(conv: &str, held: &[(u64, &str)], acked: &[(&str, &str, u64)]) -> Report {
        Report {
            held: HashMap::from([(
                conv.into(),
                held.iter().map(|&(s, id)| (s, id.to_owned())).collect(),
            )]),
            acked: acked
                .iter()
                .map(|&(c, id, seq)| Acked {
                    conversation: conv.into(),
                    client_id: c.into(),
                    id: id.into(),
                    seq,
                })
                .collect(),
            unresolved: 0,
        }
    }

    fn one_conversation(rows: Vec<(u64, Stored)>) -> Stores {
        HashMap::from([("c".to_owned(), rows.into_iter().collect())])
    }

    #[test]
    fn a_run_where_everything_holds_is_clean() {
        let db = one_conversation(vec![
            (1, stored("m1", "visitor", "v-1")),
            (2, stored("m2", "visitor", "v-2")),
        ]);
        let v = verdict(
            &db,
            &[visitor(
                "c",
                &[(1, "m1"), (2, "m2")],
                &[("v-1", "m1", 1), ("v-2", "m2", 2)],
            )],
            &[],
        );
        assert!(v.clean(), "{v:?}");
        assert_eq!((v.stored, v.acked), (2, 2));
    }

    #[test]
    fn an_acked_message_missing_from_the_database_is_lost() {
        let db = one_conversation(vec![(1, stored("m1", "visitor", "v-1"))]);
        let v = verdict(
            &db,
            &[visitor(
                "c",
                &[(1, "m1"), (2, "m2")],
                &[("v-1", "m1", 1), ("v-2", "m2", 2)],
            )],
            &[],
        );
        assert_eq!((v.lost, v.client_wrong), (1, 1));
    }

    #[test]
    fn a_client_id_stored_twice_is_a_duplicate_and_a_missing_seq_a_gap() {
        let db = one_conversation(vec![
            (1, stored("m1", "visitor", "v-1")),
            (3, stored("m3", "visitor", "v-1")),
        ]);
        let v = verdict(
            &db,
            &[visitor("c", &[(1, "m1"), (3, "m3")], &[("v-1", "m1", 1)])],
            &[],
        );
        assert_eq!((v.duplicated, v.seq_gaps, v.stored_unacked), (1, 1, 1));
    }

    #[test]
    fn an_agent_must_hold_every_conversation() {
        let db = one_conversation(vec![(1, stored("m1", "visitor", "v-1"))]);
        let agent = Report::default();
        let v = verdict(
            &db,
            &[visitor("c", &[(1, "m1")], &[("v-1", "m1", 1)])],
            &[agent],
        );
        assert_eq!(v.client_missing, 1);
    }
}
