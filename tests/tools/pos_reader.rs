//! A stand-in for the VoriPOS app in the tests: reads the newest published domain
//! database in a loop, the way the POS does, and reports every failed or inconsistent
//! read.
//!
//! Usage: `pos-reader DIR STOP_FILE` — runs until STOP_FILE exists, then prints one JSON
//! line `{"reads": N, "errors": N, "first_error": "…"|null}` and exits 0.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

fn newest(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let secs: u64 = name.strip_suffix("-Domain.sqlite3")?.parse().ok()?;
            Some((secs, e.path()))
        })
        .max()
        .map(|(_, p)| p)
}

/// One read as the POS does it: open, check, read the metadata and some rows.
fn read_once(path: &Path) -> Result<(), String> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("open: {e}"))?;
    let check: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| format!("quick_check: {e}"))?;
    if check != "ok" {
        return Err(format!("quick_check: {check}"));
    }
    let _: String = conn
        .query_row("SELECT generated_at FROM metadata", [], |r| r.get(0))
        .map_err(|e| format!("metadata: {e}"))?;
    let products: i64 = conn
        .query_row("SELECT count(*) FROM products", [], |r| r.get(0))
        .map_err(|e| format!("products: {e}"))?;
    if products == 0 {
        return Err("products is empty".into());
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(stop)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: pos-reader DIR STOP_FILE");
        std::process::exit(2);
    };
    let (dir, stop) = (Path::new(dir), Path::new(stop));
    let (mut reads, mut errors, mut first_error) = (0u64, 0u64, None::<String>);
    while !stop.exists() {
        let Some(path) = newest(dir) else {
            std::thread::sleep(std::time::Duration::from_millis(5));
            continue;
        };
        reads += 1;
        if let Err(e) = read_once(&path) {
            errors += 1;
            first_error.get_or_insert(format!("{}: {e}", path.display()));
        }
    }
    println!(
        "{}",
        serde_json::json!({"reads": reads, "errors": errors, "first_error": first_error})
    );
}
