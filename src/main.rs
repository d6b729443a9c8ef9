use std::io::IsTerminal;

use anyhow::Context;
use clap::Parser;

use parlor::app::App;
use parlor::cli;
use parlor::config::{Cli, Command, ServeConfig};
use parlor::telemetry::logs::{self, LogFormat};

/// jemalloc instead of glibc's malloc: glibc kept every freed page (RSS stayed at its peak after
/// sockets closed) and kept argon2's large buffers on the heap after logins (the figures are in
/// docs/benchmarks.md).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Freed pages go back to the OS about a second after they are freed, from a background thread.
/// Each thread's cache keeps at most 16 objects per small size: an idle thread never flushes its
/// cache, and the default (up to 200) held 2 MiB after 5,000 sockets closed, at no measurable
/// gain in CPU per message. See docs/benchmarks.md.
#[export_name = "_rjem_malloc_conf"]
static JEMALLOC_CONF: &[u8; 109] =
    b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0,tcache_nslots_small_max:16,tcache_nslots_large:4\0";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Files this process creates (the SQLite database, its -wal and -shm) hold every
    // conversation and the JWT secret: readable by this user only.
    // SAFETY: umask only sets the process's file mode mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
    let args = Cli::parse();
    // The log format is a serving option; the administrative subcommands log as text.
    logs::init(match &args.command {
        None => args.serve.log_format,
        Some(Command::Serve(config)) => config.log_format,
        Some(_) => LogFormat::Text,
    });
    match args.command {
        None => serve(args.serve).await,
        Some(Command::Serve(config)) => serve(config).await,
        Some(Command::Site(command)) => cli::site_command(command).await,
        Some(Command::Agent(command)) => cli::agent_command(command).await,
        Some(Command::Invite(command)) => cli::invite_command(command).await,
    }
}

async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    tracing::info!(?config, "starting");
    let app = App::build(&config).await.context("starting parlor")?;
    let addr = app.addr()?;
    // Unset: an interactive first run gets a demo to click through; a service (no terminal)
    // never gets an admin account with a password printed into its logs.
    let demo = if config
        .demo
        .unwrap_or_else(|| std::io::stdout().is_terminal())
    {
        cli::ensure_demo(app.chat().store()).await?
    } else {
        None
    };
    println!("listening on http://{addr}");
    if let Some(metrics) = app.metrics_addr()? {
        println!("metrics on http://{metrics}/metrics");
    }
    if let Some(demo) = demo {
        println!();
        println!("First run: created a demo site and an agent.");
        println!("  site key:   {}", demo.site_key);
        println!(
            "  dashboard:  http://{addr}/admin  (login {} / {})",
            demo.username, demo.password
        );
        println!("  demo page:  http://{addr}/demo?site={}", demo.site_key);
        println!("  embed:      <script src=\"http://{addr}/widget.js\" data-site=\"{}\" async></script>", demo.site_key);
    }
    app.run_until(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
    .await?;
    Ok(())
}
