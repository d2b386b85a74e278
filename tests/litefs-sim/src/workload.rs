//! The realistic transactions the simulator commits: price changes, new
//! products with barcodes, promotion changes. Each also bumps
//! `metadata.generated_at`, like a real catalogue publish.

use std::time::{Duration, SystemTime};

use anyhow::Context;
use fastrand::Rng;
use rusqlite::{params, Transaction};

use crate::catalog::{self, Product};
use crate::generate::{insert_product, BARCODE_INSERT, PRODUCT_INSERT};
use crate::time::rfc3339_millis;

/// Applies one random catalogue change inside `tx`.
pub fn apply(tx: &Transaction, rng: &mut Rng, now: SystemTime) -> anyhow::Result<()> {
    let stamp = rfc3339_millis(now);
    match rng.u8(0..100) {
        0..60 => change_prices(tx, rng, &stamp).context("changing prices")?,
        60..85 => add_product(tx, rng, &stamp).context("adding a product")?,
        _ => change_promotion(tx, rng, now, &stamp).context("changing a promotion")?,
    }
    tx.prepare_cached("UPDATE metadata SET generated_at = ?1")?
        .execute([&stamp])
        .context("updating metadata")?;
    Ok(())
}

fn max_id(tx: &Transaction, table: &str) -> rusqlite::Result<i64> {
    tx.prepare_cached(&format!("SELECT coalesce(max(id), 0) FROM {table}"))?
        .query_row([], |row| row.get(0))
}

fn change_prices(tx: &Transaction, rng: &mut Rng, stamp: &str) -> anyhow::Result<()> {
    let products = max_id(tx, "products")?;
    if products == 0 {
        return Ok(());
    }
    let mut stmt = tx.prepare_cached(
        "UPDATE products SET price_cents = max(1, price_cents * ?1 / 100), updated_at = ?2
         WHERE id = ?3",
    )?;
    for _ in 0..rng.u8(1..=5) {
        stmt.execute(params![rng.i64(90..=115), stamp, rng.i64(1..=products)])?;
    }
    Ok(())
}

fn add_product(tx: &Transaction, rng: &mut Rng, stamp: &str) -> anyhow::Result<()> {
    let id = max_id(tx, "products")? + 1;
    let product = Product::random(rng, id);
    let mut stmt = tx.prepare_cached(PRODUCT_INSERT)?;
    insert_product(&mut stmt, id, &product, stamp)?;
    let first_barcode = max_id(tx, "product_barcodes")? + 1;
    let mut stmt = tx.prepare_cached(BARCODE_INSERT)?;
    for n in 0..catalog::barcode_count(rng) as i64 {
        let barcode_id = first_barcode + n;
        stmt.execute(params![
            barcode_id,
            id,
            catalog::barcode(barcode_id as u64),
            n == 0
        ])?;
    }
    Ok(())
}

fn change_promotion(
    tx: &Transaction,
    rng: &mut Rng,
    now: SystemTime,
    stamp: &str,
) -> anyhow::Result<()> {
    let promotions = max_id(tx, "promotions")?;
    if promotions == 0 {
        return Ok(());
    }
    let id = rng.i64(1..=promotions);
    let ends = rfc3339_millis(now + Duration::from_secs(rng.u64(1..=30) * 86_400));
    tx.prepare_cached(
        "UPDATE promotions SET ends_at = ?1, active = 1, updated_at = ?2 WHERE id = ?3",
    )?
    .execute(params![ends, stamp, id])?;
    tx.prepare_cached(
        "UPDATE offer_benefits SET value = ?1, updated_at = ?2
         WHERE offer_id IN (SELECT id FROM offers WHERE promotion_id = ?3)",
    )?
    .execute(params![rng.i64(5..=50), stamp, id])?;
    Ok(())
}
