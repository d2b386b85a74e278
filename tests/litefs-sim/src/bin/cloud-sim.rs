//! The `cloud-sim` binary: a LiteFS Cloud backup service (lfsb's dialect) over one SQLite
//! file, until SIGTERM or SIGINT. Point the app's cloud source, or a real LiteFS
//! (`LITEFS_CLOUD_ENDPOINT`, `LITEFS_CLOUD_TOKEN="cluster <name>"`), at it; replace the
//! file (write beside it, rename over it) to publish a new version.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use litefs_sim::cloud::{CloudConfig, CloudSim};
use tokio::signal::unix::{signal, SignalKind};

/// A LiteFS Cloud backup service over one SQLite file.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Address to listen on (an IP literal and port).
    #[arg(long, default_value = "127.0.0.1:2200")]
    listen: SocketAddr,
    /// The SQLite file served as the database.
    #[arg(long)]
    src: PathBuf,
    /// Database name.
    #[arg(long, default_value = "Domain.sqlite3")]
    db: String,
    /// The cluster holding the database (clients send `Authorization: cluster <name>`).
    #[arg(long)]
    cluster: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let sim = CloudSim::new(CloudConfig {
        src: args.src,
        db: args.db,
        cluster: args.cluster,
    });
    eprintln!("serving {} on http://{}", sim.token(), args.listen);
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    tokio::select! {
        () = sim.serve(listener) => {}
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
