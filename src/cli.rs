//! The administrative subcommands (`site create`, `agent create`, `agent password`) and the
//! first-run demo. They print JSON so scripts can read them.

use std::io::BufRead;
use std::sync::Arc;

use anyhow::{bail, Context};
use serde_json::json;

use crate::domain::auth::{hash_password, new_id, random_token};
use crate::domain::model::{now_millis, Site};
use crate::store::{NewAgent, NewSite, Store};

const PRECHAT_FIELDS: [&str; 3] = ["name", "email", "phone"];
const MIN_PASSWORD_CHARS: usize = 8;

pub async fn create_site(
    store: &dyn Store,
    name: &str,
    allowed_origins: &[String],
    prechat_fields: &[String],
) -> anyhow::Result<Site> {
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
    Ok(store
        .create_site(NewSite {
            id: &new_id(),
            site_key: &format!("pk_{}", random_token(18)),
            name,
            allowed_origins: &allowed_origins,
            prechat_fields: &prechat_fields,
            now: now_millis(),
        })
        .await?)
}

pub fn print_site(site: &Site) {
    println!("{}", json!({ "id": site.id, "siteKey": site.site_key }));
}

pub async fn create_agent(
    store: &dyn Store,
    site_key: &str,
    username: &str,
    name: &str,
    password: &str,
) -> anyhow::Result<String> {
    let site = store
        .site_by_key(site_key)
        .await?
        .with_context(|| format!("no site with key {site_key}"))?;
    let username = username.trim();
    if username.is_empty() || username.chars().count() > 64 {
        bail!("--username must be 1..64 characters");
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        bail!("--name must be 1..100 characters");
    }
    let hash = hash(password).await?;
    let agent = store
        .create_agent(NewAgent {
            id: &new_id(),
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

/// What the first run on an empty database prints.
pub struct Demo {
    pub site_key: String,
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
    )
    .await?;
    let password = random_token(12);
    create_agent(store.as_ref(), &site.site_key, "admin", "Admin", &password).await?;
    Ok(Some(Demo {
        site_key: site.site_key,
        username: "admin".into(),
        password,
    }))
}
