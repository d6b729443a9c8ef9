//! The administrative subcommands (`site create|list|show|update|delete`, `agent create|list|
//! password|role|disable|enable|delete`) and the first-run demo. They print JSON so scripts can
//! read them; a refusal is a message on standard error and a non-zero exit.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use anyhow::{bail, Context};
use serde_json::json;

use crate::config::{AgentCommand, InviteCommand, RoleArg, SiteCommand};
use crate::domain::auth::random_token;
use crate::domain::files::FileStorage;
use crate::domain::ids::{AgentId, SiteId, SiteKey};
use crate::domain::input::parse_email;
use crate::domain::model::{now_millis, Agent, Role, Site};
use crate::domain::settings;
use crate::domain::store::{AgentChange, AgentChanged, NewAgent, NewSite, SiteChanges, Store};
use crate::domain::team::{self, TOMBSTONE_PREFIX};
use crate::store;

pub async fn create_site(
    store: &dyn Store,
    name: &str,
    allowed_origins: &[String],
    prechat_fields: &[String],
    allowed_query_params: &[String],
) -> anyhow::Result<Site> {
    let name = site_name(name)?;
    let prechat_fields = prechat_field_list(prechat_fields)?;
    let allowed_origins = origin_list(allowed_origins)?;
    let allowed_query_params = query_param_list(allowed_query_params)?;
    Ok(store
        .create_site(NewSite {
            id: &SiteId::generate(),
            site_key: &SiteKey::generate(),
            name: &name,
            allowed_origins: &allowed_origins,
            prechat_fields: &prechat_fields,
            allowed_query_params: &allowed_query_params,
            now: now_millis(),
        })
        .await?)
}

/// `site update KEY`: the given settings change, the others stay.
pub async fn update_site(
    store: &dyn Store,
    site_key: &str,
    name: Option<&str>,
    allowed_origins: Option<&[String]>,
    prechat_fields: Option<&[String]>,
    allowed_query_params: Option<&[String]>,
    mail_from: Option<&str>,
) -> anyhow::Result<Site> {
    let site = site_with_key(store, site_key).await?;
    let name = name.map(site_name).transpose()?;
    let allowed_origins = allowed_origins.map(origin_list).transpose()?;
    let prechat_fields = prechat_fields.map(prechat_field_list).transpose()?;
    let allowed_query_params = allowed_query_params.map(query_param_list).transpose()?;
    let mail_from = mail_from
        .map(|m| {
            settings::MailFrom::parse(m)
                .map(|m| m.map(|m| m.to_string()).unwrap_or_default())
                .map_err(|e| anyhow::anyhow!("--mail-from: {e}"))
        })
        .transpose()?;
    let changes = SiteChanges {
        name: name.as_deref(),
        allowed_origins: allowed_origins.as_deref(),
        prechat_fields: prechat_fields.as_deref(),
        allowed_query_params: allowed_query_params.as_deref(),
        mail_from: mail_from.as_deref(),
        ..SiteChanges::default()
    };
    if !store.update_site(&site.id, changes).await? {
        bail!("no site with key {site_key}");
    }
    site_with_key(store, site_key).await
}

/// `site delete KEY`: asks on a terminal unless `yes`; refuses without a terminal.
pub async fn delete_site(
    store: &dyn Store,
    files: &dyn FileStorage,
    site_key: &str,
    yes: bool,
) -> anyhow::Result<()> {
    let site = site_with_key(store, site_key).await?;
    if !yes
        && !confirm(&format!(
            "Delete site {} ({site_key}) with all its conversations, visitors and agents? [y/N] ",
            site.name
        ))?
    {
        bail!("not deleted: confirm on a terminal or pass --yes");
    }
    if !store.delete_site(&site.id).await? {
        bail!("no site with key {site_key}");
    }
    // After the rows: a file whose row is gone is never served, and a failure here leaves
    // only bytes that a second `site delete` cannot reach, so it is reported.
    files
        .delete_site(site.id.as_str())
        .await
        .map_err(|e| anyhow::anyhow!("the site is deleted, but not all its files: {e}"))?;
    Ok(())
}

fn site_name(raw: &str) -> anyhow::Result<String> {
    settings::site_name(raw).map_err(|e| anyhow::anyhow!("--{e}"))
}

fn prechat_field_list(raw: &[String]) -> anyhow::Result<Vec<String>> {
    settings::field_list(raw, "--prechat-fields").map_err(|e| anyhow::anyhow!("{e}"))
}

/// Origins without a trailing slash; blank ones dropped (`--allowed-origin ""` empties the list).
fn origin_list(raw: &[String]) -> anyhow::Result<Vec<String>> {
    settings::origin_list(raw, "--allowed-origin").map_err(|e| anyhow::anyhow!("{e}"))
}

fn query_param_list(raw: &[String]) -> anyhow::Result<Vec<String>> {
    raw.iter()
        .filter(|p| !p.trim().is_empty())
        .map(|p| query_param_name(p))
        .collect()
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

/// A site as `site list`, `site show` and `site update` print it.
fn site_json(s: &Site) -> serde_json::Value {
    json!({
        "id": s.id,
        "siteKey": s.site_key,
        "name": s.name,
        "allowedOrigins": s.allowed_origins,
        "prechatFields": s.prechat_fields,
        "allowedQueryParams": s.allowed_query_params,
        "mailFrom": s.mail_from,
    })
}

/// `site list`: every site with its settings.
pub async fn list_sites(store: &dyn Store) -> anyhow::Result<serde_json::Value> {
    Ok(store.list_sites().await?.iter().map(site_json).collect())
}

/// `agent list --site KEY`: the site's agents that are not deleted.
pub async fn list_agents(store: &dyn Store, site_key: &str) -> anyhow::Result<serde_json::Value> {
    let site = site_with_key(store, site_key).await?;
    let agents: Vec<Agent> = store.list_agents(&site.id).await?;
    Ok(agents
        .into_iter()
        .map(|a| {
            json!({
                "id": a.id,
                "username": a.username,
                "name": a.name,
                "role": a.role,
                "disabled": a.disabled,
            })
        })
        .collect())
}

/// Applies a change to an agent, or says why not.
async fn change_agent(
    store: &dyn Store,
    username: &str,
    change: AgentChange<'_>,
) -> anyhow::Result<()> {
    match store.change_agent(username, change).await? {
        AgentChanged::Done => Ok(()),
        AgentChanged::NoSuchAgent => bail!("no agent with username {username}"),
        AgentChanged::LastAdmin => {
            bail!("refused: {username} is the site's last enabled admin; make another agent an admin first")
        }
    }
}

/// `agent disable` / `agent enable`. Disabling revokes the agent's tokens: every node closes
/// its connections within 2 s.
pub async fn set_disabled(store: &dyn Store, username: &str, disabled: bool) -> anyhow::Result<()> {
    change_agent(store, username, AgentChange::Disabled(disabled)).await
}

/// `agent role`.
pub async fn set_role(store: &dyn Store, username: &str, role: Role) -> anyhow::Result<()> {
    change_agent(store, username, AgentChange::Role(role)).await
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
    let delete = AgentChange::Delete {
        tombstone: &tombstone,
        now: now_millis(),
    };
    change_agent(store, username, delete).await
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

/// What `agent create` makes.
pub struct AgentSignup<'a> {
    pub username: &'a str,
    pub name: &'a str,
    pub password: &'a str,
    pub role: Role,
    pub email: Option<&'a str>,
}

pub async fn create_agent(
    store: &dyn Store,
    site_key: &str,
    signup: AgentSignup<'_>,
) -> anyhow::Result<AgentId> {
    let site = site_with_key(store, site_key).await?;
    let username = team::agent_username(signup.username).map_err(|e| anyhow::anyhow!("--{e}"))?;
    let name = team::agent_name(signup.name).map_err(|e| anyhow::anyhow!("--{e}"))?;
    let email = match signup.email {
        Some(raw) => parse_email(raw)
            .map_err(|_| anyhow::anyhow!("--email {raw:?} does not look like an e-mail address"))?,
        None => None,
    };
    let hash = hash(signup.password).await?;
    let agent = store
        .create_agent(NewAgent {
            id: &AgentId::generate(),
            site_id: &site.id,
            username: &username,
            name: &name,
            password_hash: &hash,
            role: signup.role,
            email: email.as_deref(),
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
    team::agent_password_hash(password)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
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

fn role(arg: RoleArg) -> Role {
    match arg {
        RoleArg::Admin => Role::Admin,
        RoleArg::Agent => Role::Agent,
    }
}

/// Runs a `site` subcommand: JSON on standard output, an error (non-zero exit) when refused.
pub async fn site_command(command: SiteCommand) -> anyhow::Result<()> {
    let printed = match command {
        SiteCommand::Create {
            name,
            allowed_origins,
            prechat_fields,
            allowed_query_params,
            db,
        } => {
            let store = store::open(&db.database_url).await?;
            let site = create_site(
                store.as_ref(),
                &name,
                &allowed_origins,
                &prechat_fields,
                &allowed_query_params,
            )
            .await?;
            json!({ "id": site.id, "siteKey": site.site_key })
        }
        SiteCommand::List { db } => {
            list_sites(store::open(&db.database_url).await?.as_ref()).await?
        }
        SiteCommand::Show { key, db } => {
            let store = store::open(&db.database_url).await?;
            site_json(&site_with_key(store.as_ref(), &key).await?)
        }
        SiteCommand::Update {
            key,
            name,
            allowed_origins,
            prechat_fields,
            allowed_query_params,
            mail_from,
            db,
        } => {
            let store = store::open(&db.database_url).await?;
            let site = update_site(
                store.as_ref(),
                &key,
                name.as_deref(),
                allowed_origins.as_deref(),
                prechat_fields.as_deref(),
                allowed_query_params.as_deref(),
                mail_from.as_deref(),
            )
            .await?;
            site_json(&site)
        }
        SiteCommand::Delete {
            key,
            yes,
            db,
            files,
        } => {
            let store = store::open(&db.database_url).await?;
            let files = crate::files::open(&files, &db.database_url)?;
            delete_site(store.as_ref(), files.as_ref(), &key, yes).await?;
            json!({ "ok": true })
        }
    };
    println!("{printed}");
    Ok(())
}

/// Runs an `agent` subcommand: JSON on standard output, an error (non-zero exit) when refused.
pub async fn agent_command(command: AgentCommand) -> anyhow::Result<()> {
    let ok = json!({ "ok": true });
    let printed = match command {
        AgentCommand::Create {
            site,
            username,
            name,
            role: role_arg,
            email,
            db,
        } => {
            let password = read_password()?;
            let store = store::open(&db.database_url).await?;
            let signup = AgentSignup {
                username: &username,
                name: &name,
                password: &password,
                role: role(role_arg),
                email: email.as_deref(),
            };
            let id = create_agent(store.as_ref(), &site, signup).await?;
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
        AgentCommand::Role {
            username,
            role: role_arg,
            db,
        } => {
            let store = store::open(&db.database_url).await?;
            set_role(store.as_ref(), &username, role(role_arg)).await?;
            ok
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

/// Runs an `invite` subcommand.
pub async fn invite_command(command: InviteCommand) -> anyhow::Result<()> {
    let InviteCommand::Create {
        site,
        role: role_arg,
        links,
        listen,
        db,
    } = command;
    let store = store::open(&db.database_url).await?;
    let site = site_with_key(store.as_ref(), &site).await?;
    let base = format!("http://{listen}");
    let link = team::create_link(
        store.as_ref(),
        &links.invitations(),
        &site.id,
        team::LinkFor::Joining(role(role_arg)),
        &base,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{}", serde_json::to_value(link)?);
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
    let signup = AgentSignup {
        username: "admin",
        name: "Admin",
        password: &password,
        role: Role::Admin,
        email: None,
    };
    create_agent(store.as_ref(), site.site_key.as_str(), signup).await?;
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
