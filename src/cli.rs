//! The administrative subcommands (`site create|list`, `agent create|list|password|disable|
//! enable|delete`) and the first-run demo. They print JSON so scripts can read them.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use anyhow::{bail, Context};
use serde_json::json;

use crate::config::AgentCommand;
use crate::domain::auth::{hash_password, random_token};
use crate::domain::ids::{AgentId, SiteId, SiteKey};
use crate::domain::input::single_line;
use crate::domain::model::{now_millis, Agent, Site};
use crate::domain::store::{NewAgent, NewSite, Store};
use crate::store;

const PRECHAT_FIELDS: [&str; 3] = ["name", "email", "phone"];
const MIN_PASSWORD_CHARS: usize = 8;
/// A deleted agent's username becomes `deleted:<id>`: unique, and never a name `agent create`
/// accepts, so the tombstone cannot clash with a real agent.
const TOMBSTONE_PREFIX: &str = "deleted:";

pub async fn create_site(
    store: &dyn Store,
    name: &str,
    allowed_origins: &[String],
    prechat_fields: &[String],
    allowed_query_params: &[String],
) -> anyhow::Result<Site> {
    // Shown next to other text in both UIs: no bidi controls or line breaks.
    let name = single_line(name);
    let name = name.trim();
    if name.is_empty() {
        bail!("--name must not be empty");
    }
    let prechat_fields: Vec<String> = prechat_fields
        .iter()
        .map(|f| f.trim().to_lowercase())
        .filter(|f| !f.is_empty())
        .collect();
    if let Some(bad) = prechat_fields
        .iter()
        .find(|f| !PRECHAT_FIELDS.contains(&f.as_str()))
    {
        bail!("unknown pre-chat field {bad:?}; use name, email, phone");
    }
    let allowed_origins: Vec<String> = allowed_origins
        .iter()
        .map(|o| o.trim().trim_end_matches('/').to_owned())
        .collect();
    let allowed_query_params = allowed_query_params
        .iter()
        .map(|p| query_param_name(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(store
        .create_site(NewSite {
            id: &SiteId::generate(),
            site_key: &SiteKey::generate(),
            name,
            allowed_origins: &allowed_origins,
            prechat_fields: &prechat_fields,
            allowed_query_params: &allowed_query_params,
            now: now_millis(),
        })
        .await?)
}

/// A query parameter name as `--allowed-query-param` takes it: not empty, nothing that would
/// end a name or a pair in a URL, and `*` only at the end (a prefix wildcard, e.g. `utm_*`).
fn query_param_name(raw: &str) -> anyhow::Result<String> {
    let name = raw.trim();
    let stem = name.strip_suffix('*').unwrap_or(name);
    if name.is_empty() || name.chars().count() > 100 {
        bail!("--allowed-query-param must be 1..100 characters");
    }
    if stem
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "&=#?*".contains(c))
    {
        bail!(
            "--allowed-query-param {raw:?}: a name without & = # ? or spaces, `*` only at its end"
        );
    }
    Ok(name.to_owned())
}

pub fn print_site(site: &Site) {
    println!("{}", json!({ "id": site.id, "siteKey": site.site_key }));
}

/// `site list`: every site with its settings.
pub async fn list_sites(store: &dyn Store) -> anyhow::Result<serde_json::Value> {
    let sites = store.list_sites().await?;
    Ok(sites
        .into_iter()
        .map(|s| {
            json!({
                "id": s.id,
                "siteKey": s.site_key,
                "name": s.name,
                "allowedOrigins": s.allowed_origins,
                "prechatFields": s.prechat_fields,
                "allowedQueryParams": s.allowed_query_params,
            })
        })
        .collect())
}

/// `agent list --site KEY`: the site's agents that are not deleted.
pub async fn list_agents(store: &dyn Store, site_key: &str) -> anyhow::Result<serde_json::Value> {
    let site = site_with_key(store, site_key).await?;
    let agents: Vec<Agent> = store.list_agents(&site.id).await?;
    Ok(agents
        .into_iter()
        .map(|a| json!({ "id": a.id, "username": a.username, "name": a.name, "disabled": a.disabled }))
        .collect())
}

/// `agent disable` / `agent enable`. Disabling revokes the agent's tokens: every node closes
/// its connections within 2 s.
pub async fn set_disabled(store: &dyn Store, username: &str, disabled: bool) -> anyhow::Result<()> {
    if !store.set_agent_disabled(username, disabled).await? {
        bail!("no agent with username {username}");
    }
    Ok(())
}

/// `agent delete`: asks on a terminal unless `yes`; refuses without a terminal.
pub async fn delete_agent(store: &dyn Store, username: &str, yes: bool) -> anyhow::Result<()> {
    let agent = store
        .agent_by_username(username)
        .await?
        .filter(|a| a.deleted_at.is_none())
        .with_context(|| format!("no agent with username {username}"))?;
    if !yes
        && !confirm(&format!(
            "Delete agent {username} ({}) for good? Its messages stay. [y/N] ",
            agent.name
        ))?
    {
        bail!("not deleted: confirm on a terminal or pass --yes");
    }
    let tombstone = format!("{TOMBSTONE_PREFIX}{}", agent.id);
    if !store
        .delete_agent(username, &tombstone, now_millis())
        .await?
    {
        bail!("no agent with username {username}");
    }
    Ok(())
}

/// A yes on standard input when it is a terminal; false (refuse) when it is not.
fn confirm(question: &str) -> anyhow::Result<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Ok(false);
    }
    eprint!("{question}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

/// The site a `--site KEY` argument names.
async fn site_with_key(store: &dyn Store, site_key: &str) -> anyhow::Result<Site> {
    let site = match SiteKey::parse(site_key) {
        Some(key) => store.site_by_key(&key).await?,
        None => None,
    };
    site.with_context(|| format!("no site with key {site_key}"))
}

pub async fn create_agent(
    store: &dyn Store,
    site_key: &str,
    username: &str,
    name: &str,
    password: &str,
) -> anyhow::Result<AgentId> {
    let site = site_with_key(store, site_key).await?;
    let username = username.trim();
    if username.is_empty() || username.chars().count() > 64 {
        bail!("--username must be 1..64 characters");
    }
    if username.starts_with(TOMBSTONE_PREFIX) {
        bail!("--username must not start with {TOMBSTONE_PREFIX:?} (deleted agents' names)");
    }
    // Shown next to other text in both UIs: no bidi controls or line breaks.
    let name = single_line(name);
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        bail!("--name must be 1..100 characters");
    }
    let hash = hash(password).await?;
    let agent = store
        .create_agent(NewAgent {
            id: &AgentId::generate(),
            site_id: &site.id,
            username,
            name,
            password_hash: &hash,
            now: now_millis(),
        })
        .await?;
    Ok(agent.id)
}

pub async fn set_password(store: &dyn Store, username: &str, password: &str) -> anyhow::Result<()> {
    let hash = hash(password).await?;
    if !store.set_agent_password(username, &hash).await? {
        bail!("no agent with username {username}");
    }
    Ok(())
}

async fn hash(password: &str) -> anyhow::Result<String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        bail!("the password must have at least {MIN_PASSWORD_CHARS} characters");
    }
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await?
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
}

/// The password from `PARLOR_PASSWORD`, or the first line of standard input.
pub fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("PARLOR_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Runs an `agent` subcommand: JSON on standard output, an error (non-zero exit) when refused.
pub async fn agent_command(command: AgentCommand) -> anyhow::Result<()> {
    let ok = json!({ "ok": true });
    let printed = match command {
        AgentCommand::Create {
            site,
            username,
            name,
            db,
        } => {
            let password = read_password()?;
            let store = store::open(&db.database_url).await?;
            let id = create_agent(store.as_ref(), &site, &username, &name, &password).await?;
            json!({ "id": id })
        }
        AgentCommand::Password { username, db } => {
            let password = read_password()?;
            let store = store::open(&db.database_url).await?;
            set_password(store.as_ref(), &username, &password).await?;
            ok
        }
        AgentCommand::List { site, db } => {
            let store = store::open(&db.database_url).await?;
            list_agents(store.as_ref(), &site).await?
        }
        AgentCommand::Disable { username, db } => {
            let store = store::open(&db.database_url).await?;
            set_disabled(store.as_ref(), &username, true).await?;
            ok
        }
        AgentCommand::Enable { username, db } => {
            let store = store::open(&db.database_url).await?;
            set_disabled(store.as_ref(), &username, false).await?;
            ok
        }
        AgentCommand::Delete { username, yes, db } => {
            let store = store::open(&db.database_url).await?;
            delete_agent(store.as_ref(), &username, yes).await?;
            ok
        }
    };
    println!("{printed}");
    Ok(())
}

/// What the first run on an empty database prints.
pub struct Demo {
    pub site_key: SiteKey,
    pub username: String,
    pub password: String,
}

/// Creates a demo site and an `admin` agent when the database has no site yet.
pub async fn ensure_demo(store: &Arc<dyn Store>) -> anyhow::Result<Option<Demo>> {
    if store.count_sites().await? > 0 {
        return Ok(None);
    }
    let site = create_site(
        store.as_ref(),
        "Demo Coffee Roasters",
        &[],
        &["name".into(), "email".into()],
        &[],
    )
    .await?;
    let password = random_token(12);
    create_agent(
        store.as_ref(),
        site.site_key.as_str(),
        "admin",
        "Admin",
        &password,
    )
    .await?;
    Ok(Some(Demo {
        site_key: site.site_key,
        username: "admin".into(),
        password,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_param_names_allow_a_trailing_wildcard_only() {
        assert_eq!(query_param_name(" utm_* ").unwrap(), "utm_*");
        assert_eq!(query_param_name("ref").unwrap(), "ref");
        for bad in ["", " ", "a*b", "*x*", "a=b", "a&b", "a b", "#", "a?"] {
            assert!(query_param_name(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
