//! The subcommands: each turns arguments into calls of the library and an exit code.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use chrono::Utc;

use voripos_domain_sync::cli::{Cli, Cmd, EXIT_FAILURE, EXIT_NO_INSTANCE};
use voripos_domain_sync::config::{self, Config, Secret};
use voripos_domain_sync::litefs::checksum::checksum_file;
use voripos_domain_sync::litefs::Checksum;
use voripos_domain_sync::status;
use voripos_domain_sync::verify::check_layout;
use voripos_domain_sync::{daemon, sync::Command};

/// Runs the parsed command line; returns the exit code.
pub fn run(cli: Cli) -> anyhow::Result<i32> {
    let (config_path, explicit) = config::config_path(cli.config.as_deref());
    let load = || Config::load(&config_path, explicit);
    match cli.command {
        None | Some(Cmd::Run { headless: false }) => {
            eprintln!(
                "The menu-bar app is not part of this build yet; run `voripos-domain-sync run --headless`."
            );
            Ok(2)
        }
        Some(Cmd::Run { headless: true }) => {
            let config = load()?;
            runtime()?.block_on(daemon::run_until_signal(&config))?;
            Ok(0)
        }
        Some(Cmd::Status { json }) => status_command(&load()?, json),
        Some(Cmd::Verify { file, expect }) => verify_command(&file, expect.as_deref()),
        Some(Cmd::Config) => config_command(&config_path, explicit, &load()?),
        Some(Cmd::Demo { dir, size_mb, port }) => {
            let dir = dir.unwrap_or_else(|| config::app_dirs().data.join("demo"));
            runtime()?.block_on(demo(&dir, size_mb, port))?;
            Ok(0)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn status_command(config: &Config, json: bool) -> anyhow::Result<i32> {
    let path = config.status_file();
    let status = match status::read_file(&path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!(
                "No running instance: there is no status file at {} (start it with `voripos-domain-sync run --headless`).",
                path.display()
            );
            return Ok(EXIT_NO_INSTANCE);
        }
        Err(e) => bail!("cannot read the status file {}: {e}", path.display()),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print!("{}", status.render(Utc::now()));
    }
    Ok(0)
}

fn verify_command(file: &Path, expect: Option<&str>) -> anyhow::Result<i32> {
    let expect: Option<Checksum> = expect
        .map(|e| {
            e.parse()
                .with_context(|| format!("--expect {e:?} is not a 16-digit hex checksum"))
        })
        .transpose()?;
    let summary = checksum_file(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut header = Vec::with_capacity(100);
    std::fs::File::open(file)
        .and_then(|f| f.take(100).read_to_end(&mut header))
        .with_context(|| format!("cannot read {}", file.display()))?;
    let layout = check_layout(&header, &summary, None)
        .with_context(|| format!("{} is not a complete SQLite database", file.display()))?;
    println!("checksum {}", summary.checksum);
    println!("page_size {}", layout.page_size);
    println!("pages {}", layout.pages);
    match expect {
        Some(e) if e != summary.checksum => {
            eprintln!("checksum mismatch: expected {e}, got {}", summary.checksum);
            Ok(EXIT_FAILURE)
        }
        _ => Ok(0),
    }
}

fn config_command(path: &Path, explicit: bool, config: &Config) -> anyhow::Result<i32> {
    let found = path.exists();
    println!(
        "# config file: {} ({})",
        path.display(),
        match (found, explicit) {
            (true, _) => "read",
            (false, _) => "not found: every value is the default",
        }
    );
    let token_source = if std::env::var_os("LITEFS_CLOUD_TOKEN").is_some_and(|v| !v.is_empty()) {
        "environment LITEFS_CLOUD_TOKEN"
    } else if config
        .litefs
        .cloud_token
        .as_ref()
        .is_some_and(|t: &Secret| !t.expose().is_empty())
    {
        "config file"
    } else {
        "not set"
    };
    println!(
        "# litefs.cloud_token: {} ({token_source})",
        if token_source == "not set" {
            "-"
        } else {
            "[redacted]"
        }
    );
    println!("# status file: {}", config.status_file().display());
    print!("{}", toml::to_string(config)?);
    Ok(0)
}

/// The demo: litefs-sim as a local process, the headless core syncing from it.
async fn demo(dir: &Path, size_mb: u64, port: u16) -> anyhow::Result<()> {
    let sim_bin = sibling_binary("litefs-sim")?;
    let data = dir.join("litefs");
    let publish = dir.join("Domain");
    std::fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
    let url = format!("http://127.0.0.1:{port}");
    println!("Starting litefs-sim ({size_mb} MB database, a change every 3 s) on {url}…");
    let mut sim = tokio::process::Command::new(&sim_bin)
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--size-mb",
            &size_mb.to_string(),
            "--tx-interval",
            "3s",
            "--data-dir",
        ])
        .arg(&data)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", sim_bin.display()))?;
    let text = format!(
        "[litefs]\nurl = {url:?}\n[publish]\ndir = {:?}\n[container]\nmanage = false\n[status]\nfile = {:?}\n",
        publish.display().to_string(),
        dir.join("status.json").display().to_string()
    );
    let config = Config::parse(&text, &dir.join("demo.toml"))?;
    let core = daemon::start(&config)?;
    println!(
        "Publishing into {}\nPress Ctrl-C to stop.\n",
        publish.display()
    );
    let mut status = core.status.clone();
    let mut last_line = String::new();
    let shutdown = daemon::shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            changed = status.changed() => {
                if changed.is_err() { break; }
                let s = status.borrow_and_update().clone();
                let line = format!(
                    "{:?} · txid {} · {}",
                    s.state,
                    s.txid.map_or("-".into(), |t| format!("{:x}", t.0)),
                    s.published_path.as_deref().map_or("nothing published yet".into(), |p| p.display().to_string()),
                );
                if line != last_line {
                    println!("{} {line}", Utc::now().format("%H:%M:%S"));
                    last_line = line;
                }
            }
            _ = &mut shutdown => break,
            exit = sim.wait() => bail!("litefs-sim stopped: {exit:?}"),
        }
    }
    let _ = core.commands.send(Command::Quit).await;
    core.stopped().await;
    let _ = sim.kill().await;
    let _ = tokio::time::timeout(Duration::from_secs(5), sim.wait()).await;
    Ok(())
}

/// A binary built beside this one (cargo puts a workspace's binaries together).
fn sibling_binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let path = exe.with_file_name(name);
    if path.exists() {
        Ok(path)
    } else {
        bail!(
            "{} not found; build it with `cargo build --release --workspace`",
            path.display()
        )
    }
}
