//! voripos-domain-sync: keeps a VoriPOS Mac's domain database in sync with LiteFS.
//!
//! The pipeline (see `README.md`): LiteFS events trigger the sync worker, which
//! streams an export to a hidden temp file while checksumming it, verifies it,
//! publishes it atomically into the POS app's folder and inspects it for the status.

pub mod inspect;
pub mod publish;
