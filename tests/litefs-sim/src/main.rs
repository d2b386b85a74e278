//! The `litefs-sim` binary: serves the simulator's HTTP API until SIGTERM or SIGINT.
//!
//! Made to run as PID 1 in a `FROM scratch` container: IP literals only,
//! creates its data directory, logs to stderr, exits 0 on a signal. Invoked as
//! `cat` (a symlink in the image) it prints files, so `docker exec … cat
//! /litefs/<db>-pos` reads the position as it does in the real LiteFS image.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use litefs_sim::{Sim, SimConfig};
use tokio::signal::unix::{signal, SignalKind};
use tracing::info;

/// A simulator of the LiteFS 0.5 HTTP API over a generated domain database.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Address to listen on (an IP literal and port).
    #[arg(long, default_value = "127.0.0.1:20202")]
    listen: SocketAddr,
    /// Directory of the database and its -pos file (created if missing).
    #[arg(long)]
    data_dir: PathBuf,
    /// Database name.
    #[arg(long, default_value = "Domain.sqlite3")]
    db: String,
    /// Approximate size of a generated database, in MiB (1..=1024).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=1024))]
    size_mb: u64,
    /// Seed of the generator and transactions.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Commit a transaction every interval ("500ms", "5s", "1m"), or "off".
    #[arg(long, default_value = "off", value_parser = parse_interval)]
    tx_interval: Interval,
}

/// A `--tx-interval` value (`None`: off).
#[derive(Clone, Copy, Debug)]
struct Interval(Option<Duration>);

fn parse_interval(text: &str) -> Result<Interval, String> {
    if text == "off" {
        return Ok(Interval(None));
    }
    let every = humantime::parse_duration(text).map_err(|err| err.to_string())?;
    if every.is_zero() {
        return Err("the interval must be positive (or \"off\")".to_owned());
    }
    Ok(Interval(Some(every)))
}

fn main() -> anyhow::Result<()> {
    let mut argv = std::env::args_os();
    let invoked_as = argv.next().map(PathBuf::from);
    if invoked_as.as_deref().and_then(|p| p.file_name()) == Some("cat".as_ref()) {
        return cat(argv.map(PathBuf::from));
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let result = runtime.block_on(run(args));
    // Do not wait for a generation or commit still running on a blocking thread.
    runtime.shutdown_timeout(Duration::from_millis(500));
    result
}

async fn run(args: Args) -> anyhow::Result<()> {
    let mut terminate = signal(SignalKind::terminate()).context("handling SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("handling SIGINT")?;
    let config = SimConfig {
        data_dir: args.data_dir,
        db_name: args.db,
        size_mb: args.size_mb,
        seed: args.seed,
        tx_interval: args.tx_interval.0,
    };
    let work = async {
        let sim = tokio::task::spawn_blocking(move || Sim::create(config))
            .await
            .context("setup task failed")??;
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        sim.serve(listener).await
    };
    tokio::select! {
        result = work => result,
        _ = terminate.recv() => {
            info!("SIGTERM: exiting");
            Ok(())
        }
        _ = interrupt.recv() => {
            info!("SIGINT: exiting");
            Ok(())
        }
    }
}

/// `cat FILE…`: the one shell tool the position probe needs inside a scratch image.
fn cat(files: impl Iterator<Item = PathBuf>) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for file in files {
        let bytes = std::fs::read(&file).with_context(|| format!("cat: {}", file.display()))?;
        out.write_all(&bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_intervals() {
        assert_eq!(parse_interval("off").unwrap().0, None);
        assert_eq!(
            parse_interval("500ms").unwrap().0,
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            parse_interval("5s").unwrap().0,
            Some(Duration::from_secs(5))
        );
        assert!(parse_interval("0s").is_err());
        assert!(parse_interval("soon").is_err());
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Args::command().debug_assert();
    }
}
