//! Generates a Vori-like domain database of a chosen size.
//!
//! One big transaction with prepared statements and no journal, indexes
//! built after the data; the result is deterministic for a given seed.
//! Products (with their barcodes) dominate the size.

use std::fs;
use std::io::ErrorKind;
use std::path::Path;
use std::time::{Duration, Instant, UNIX_EPOCH};

use anyhow::Context;
use fastrand::Rng;
use rusqlite::{params, Connection, Transaction};
use tracing::info;

use crate::catalog::{self, Product, DEPARTMENTS, TAX_RATES};
use crate::time::rfc3339_millis;

/// Value of `metadata.schema_version`.
pub(crate) const SCHEMA_VERSION: i64 = 7;

/// Products per MiB of database file, measured on generated databases.
const PRODUCTS_PER_MB: u64 = 2_550;

const TABLES: &str = "
CREATE TABLE departments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    code TEXT NOT NULL,
    parent_id INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE tax_rates (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    rate_basis_points INTEGER NOT NULL,
    jurisdiction TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL
);
CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    brand TEXT,
    department_id INTEGER NOT NULL,
    tax_rate_id INTEGER,
    price_cents INTEGER NOT NULL,
    cost_cents INTEGER,
    unit TEXT NOT NULL,
    size TEXT,
    description TEXT,
    active INTEGER NOT NULL DEFAULT 1,
    sold_by_weight INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE product_barcodes (
    id INTEGER PRIMARY KEY,
    product_id INTEGER NOT NULL,
    barcode TEXT NOT NULL,
    barcode_type TEXT NOT NULL,
    is_primary INTEGER NOT NULL
);
CREATE TABLE promotions (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    active INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE offers (
    id INTEGER PRIMARY KEY,
    promotion_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    priority INTEGER NOT NULL,
    stackable INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE offer_benefits (
    id INTEGER PRIMARY KEY,
    offer_id INTEGER NOT NULL,
    benefit_type TEXT NOT NULL,
    value INTEGER NOT NULL,
    range_id INTEGER,
    updated_at TEXT NOT NULL
);
CREATE TABLE offer_conditions (
    id INTEGER PRIMARY KEY,
    offer_id INTEGER NOT NULL,
    condition_type TEXT NOT NULL,
    value INTEGER NOT NULL,
    range_id INTEGER,
    updated_at TEXT NOT NULL
);
CREATE TABLE product_ranges (
    id INTEGER PRIMARY KEY,
    range_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    product_id INTEGER,
    department_id INTEGER,
    updated_at TEXT NOT NULL
);
CREATE TABLE metadata (
    generated_at TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    linked_trace_id TEXT,
    linked_trace_state TEXT,
    linked_span_id TEXT
);
";

const INDEXES: &str = "
CREATE UNIQUE INDEX products_sku ON products(sku);
CREATE INDEX products_department_id ON products(department_id);
CREATE INDEX products_tax_rate_id ON products(tax_rate_id);
CREATE INDEX product_barcodes_product_id ON product_barcodes(product_id);
CREATE UNIQUE INDEX product_barcodes_barcode ON product_barcodes(barcode);
CREATE INDEX offers_promotion_id ON offers(promotion_id);
CREATE INDEX offer_benefits_offer_id ON offer_benefits(offer_id);
CREATE INDEX offer_conditions_offer_id ON offer_conditions(offer_id);
CREATE INDEX product_ranges_range_id ON product_ranges(range_id);
CREATE INDEX product_ranges_product_id ON product_ranges(product_id);
";

const BENEFIT_TYPES: &[&str] = &["percent_off", "amount_off", "fixed_price"];
const CONDITION_TYPES: &[&str] = &["min_quantity", "min_spend", "in_range"];

/// Writes a new database of about `size_mb` MiB to `path` (which must not exist).
pub(crate) fn generate(path: &Path, size_mb: u64, seed: u64) -> anyhow::Result<()> {
    let started = Instant::now();
    let products = size_mb.max(1) * PRODUCTS_PER_MB;
    info!(path = %path.display(), size_mb, seed, products, "generating database");
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(err) if err.kind() == ErrorKind::NotFound => {}
        Err(err) => return Err(err).with_context(|| format!("removing {}", path.display())),
    }
    let mut conn =
        Connection::open(path).with_context(|| format!("creating {}", path.display()))?;
    conn.execute_batch(
        "PRAGMA page_size = 4096;
         PRAGMA journal_mode = OFF;
         PRAGMA synchronous = OFF;
         PRAGMA locking_mode = EXCLUSIVE;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -65536;",
    )
    .context("setting generation pragmas")?;
    let tx = conn.transaction().context("starting generation")?;
    populate(&tx, size_mb, seed)?;
    tx.commit().context("committing generation")?;
    conn.close()
        .map_err(|(_, err)| err)
        .context("closing generated database")?;
    let bytes = fs::metadata(path)
        .with_context(|| format!("reading metadata of {}", path.display()))?
        .len();
    info!(
        bytes,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "generated database"
    );
    Ok(())
}

/// Creates the domain tables in `tx` and fills them with about `size_mb` MiB of rows,
/// deterministically for `seed`. For writers other than the simulator's own store, e.g.
/// a test writing through a real LiteFS mount.
pub fn populate(tx: &Transaction, size_mb: u64, seed: u64) -> anyhow::Result<()> {
    let products = size_mb.max(1) * PRODUCTS_PER_MB;
    let mut rng = Rng::with_seed(seed);
    // A fixed, seed-dependent "now" keeps the output deterministic.
    let base = 1_735_689_600 + (seed % 365) * 86_400;
    tx.execute_batch(TABLES).context("creating tables")?;
    fill(tx, &mut rng, products, base).context("inserting rows")?;
    tx.execute_batch(INDEXES).context("creating indexes")?;
    Ok(())
}

fn timestamp(secs: u64) -> String {
    rfc3339_millis(UNIX_EPOCH + Duration::from_secs(secs))
}

fn fill(tx: &Transaction, rng: &mut Rng, products: u64, base: u64) -> anyhow::Result<()> {
    let generated_at = timestamp(base);
    let earlier = |rng: &mut Rng| timestamp(base - rng.u64(3_600..=400 * 86_400));

    let mut stmt = tx.prepare(
        "INSERT INTO departments (id, name, code, parent_id, created_at, updated_at)
         VALUES (?1, ?2, ?3, NULL, ?4, ?4)",
    )?;
    for (i, name) in DEPARTMENTS.iter().enumerate() {
        let code: String = name
            .chars()
            .filter(char::is_ascii_alphabetic)
            .take(4)
            .collect();
        stmt.execute(params![
            i as i64 + 1,
            name,
            code.to_uppercase(),
            earlier(rng)
        ])?;
    }

    let mut stmt = tx.prepare(
        "INSERT INTO tax_rates (id, name, rate_basis_points, jurisdiction, active, updated_at)
         VALUES (?1, ?2, ?3, ?4, 1, ?5)",
    )?;
    for (i, (name, rate, jurisdiction)) in TAX_RATES.iter().enumerate() {
        stmt.execute(params![
            i as i64 + 1,
            name,
            rate,
            jurisdiction,
            earlier(rng)
        ])?;
    }

    insert_products(tx, rng, products, &earlier)?;
    insert_promotions(tx, rng, products, base)?;

    tx.execute(
        "INSERT INTO metadata (generated_at, schema_version, linked_trace_id,
                               linked_trace_state, linked_span_id)
         VALUES (?1, ?2, ?3, '', ?4)",
        params![
            generated_at,
            SCHEMA_VERSION,
            format!("{:016x}{:016x}", rng.u64(..), rng.u64(..)),
            format!("{:016x}", rng.u64(..)),
        ],
    )?;
    Ok(())
}

/// Inserts the products and their barcodes (the bulk of the database).
fn insert_products(
    tx: &Transaction,
    rng: &mut Rng,
    products: u64,
    earlier: &dyn Fn(&mut Rng) -> String,
) -> anyhow::Result<()> {
    let mut product_stmt = tx.prepare(PRODUCT_INSERT)?;
    let mut barcode_stmt = tx.prepare(BARCODE_INSERT)?;
    let mut barcode_id = 0u64;
    for id in 1..=products as i64 {
        let product = Product::random(rng, id);
        let created = earlier(rng);
        insert_product(&mut product_stmt, id, &product, &created)?;
        for n in 0..catalog::barcode_count(rng) {
            barcode_id += 1;
            barcode_stmt.execute(params![
                barcode_id as i64,
                id,
                catalog::barcode(barcode_id),
                n == 0
            ])?;
        }
    }
    Ok(())
}

/// `INSERT` for one product: id (NULL for the next one), then [`Product`] fields.
pub(crate) const PRODUCT_INSERT: &str = "INSERT INTO products (
        id, sku, name, brand, department_id, tax_rate_id, price_cents, cost_cents,
        unit, size, description, active, sold_by_weight, created_at, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14)";

/// `INSERT` for one barcode: id, product id, barcode, is-primary.
pub(crate) const BARCODE_INSERT: &str = "INSERT INTO product_barcodes
        (id, product_id, barcode, barcode_type, is_primary)
     VALUES (?1, ?2, ?3, 'UPC-A', ?4)";

/// Runs [`PRODUCT_INSERT`] for `product`; `id` `None` lets SQLite choose.
pub(crate) fn insert_product(
    stmt: &mut rusqlite::Statement<'_>,
    id: impl rusqlite::ToSql,
    product: &Product,
    created_at: &str,
) -> rusqlite::Result<usize> {
    stmt.execute(params![
        id,
        product.sku,
        product.name,
        product.brand,
        product.department_id,
        product.tax_rate_id,
        product.price_cents,
        product.cost_cents,
        product.unit,
        product.size,
        product.description,
        product.active,
        product.sold_by_weight,
        created_at,
    ])
}

/// Inserts promotions, their offers, benefits, conditions and product ranges.
fn insert_promotions(
    tx: &Transaction,
    rng: &mut Rng,
    products: u64,
    base: u64,
) -> anyhow::Result<()> {
    let promotions = (products / 400).max(3);
    let mut promotion_stmt = tx.prepare(
        "INSERT INTO promotions (id, name, description, starts_at, ends_at, active, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?4)",
    )?;
    let mut offer_stmt = tx.prepare(
        "INSERT INTO offers (id, promotion_id, name, priority, stackable, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut benefit_stmt = tx.prepare(
        "INSERT INTO offer_benefits (offer_id, benefit_type, value, range_id, updated_at)
         VALUES (?1, ?2, ?3, ?1, ?4)",
    )?;
    let mut condition_stmt = tx.prepare(
        "INSERT INTO offer_conditions (offer_id, condition_type, value, range_id, updated_at)
         VALUES (?1, ?2, ?3, ?1, ?4)",
    )?;
    let mut range_stmt = tx.prepare(
        "INSERT INTO product_ranges (range_id, name, product_id, department_id, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut offer_id = 0i64;
    for id in 1..=promotions as i64 {
        let starts = base - rng.u64(0..=60 * 86_400);
        let ends = starts + rng.u64(7..=42) * 86_400;
        let name = format!(
            "{} {} Sale",
            catalog::pick(rng, &["Weekly", "Member", "Spring", "Holiday", "Clearance"]),
            catalog::pick(rng, DEPARTMENTS)
        );
        promotion_stmt.execute(params![
            id,
            name,
            format!("{name}: savings on selected items while supplies last."),
            timestamp(starts),
            timestamp(ends),
            ends > base,
        ])?;
        for priority in 0..2 {
            offer_id += 1;
            let updated = timestamp(starts);
            offer_stmt.execute(params![
                offer_id,
                id,
                format!("{name} offer {}", priority + 1),
                priority,
                rng.bool(),
                updated
            ])?;
            let benefit = catalog::pick(rng, BENEFIT_TYPES);
            benefit_stmt.execute(params![offer_id, benefit, rng.i64(5..=50), updated])?;
            for _ in 0..rng.u8(1..=2) {
                let condition = catalog::pick(rng, CONDITION_TYPES);
                condition_stmt.execute(params![offer_id, condition, rng.i64(1..=20), updated])?;
            }
            for _ in 0..20 {
                range_stmt.execute(params![
                    offer_id,
                    format!("{name} range"),
                    rng.i64(1..=products as i64),
                    rng.i64(1..=DEPARTMENTS.len() as i64),
                    updated
                ])?;
            }
        }
    }
    Ok(())
}
