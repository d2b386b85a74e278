//! The defaults: every key has one, so an empty or missing file is a valid configuration.

use std::time::Duration;

use super::{
    Cloud, Container, LiteFs, Notifications, Publish, PublishMode, Status, Sync, Telemetry,
};

/// The default image: the fleet's repository (`docker/Dockerfile`) at this app version's tag, never `:latest` (the tag
/// every 0.4.x Mac pulls at each start, whose image has the old copy scripts). A new app
/// version names a tag this Mac does not have yet, so the supervisor pulls it
/// ([`crate::docker::engine::ensure_image`] pulls a tag that is absent); the release publishes
/// the image under that tag first (README, "Building the image").
pub const DEFAULT_IMAGE: &str = concat!(
    "us-docker.pkg.dev/vori-1bdf0/pos/domain-data:",
    env!("CARGO_PKG_VERSION")
);

/// The tables whose row counts the fleet's old scripts reported.
pub const DEFAULT_TABLES: [&str; 9] = [
    "departments",
    "tax_rates",
    "products",
    "product_barcodes",
    "promotions",
    "offers",
    "offer_benefits",
    "offer_conditions",
    "product_ranges",
];

impl Default for LiteFs {
    fn default() -> Self {
        LiteFs {
            url: "http://127.0.0.1:20202".into(),
            database: "Domain.sqlite3".into(),
            cloud_token: None,
            cloud_endpoint: None,
        }
    }
}

impl Default for Publish {
    fn default() -> Self {
        Publish {
            dir: None,
            mode: PublishMode::Versioned,
            keep: 5,
            quick_check: true,
            tables: DEFAULT_TABLES.iter().map(|t| t.to_string()).collect(),
        }
    }
}

impl Default for Container {
    fn default() -> Self {
        Container {
            manage: true,
            image: DEFAULT_IMAGE.into(),
            name: "voripos-domain-sync-litefs".into(),
            host_port: 20202,
            privileged: false,
        }
    }
}

impl Default for Status {
    fn default() -> Self {
        Status {
            file: None,
            stale_after: Duration::from_secs(30 * 60),
        }
    }
}

impl Default for Sync {
    fn default() -> Self {
        Sync {
            min_interval: Duration::from_secs(1),
            safety_check: Duration::from_secs(60),
            stall_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            max_backoff: Duration::from_secs(60),
            event_grace: Duration::from_secs(2),
        }
    }
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry {
            enabled: true,
            otlp_endpoint: None,
            metrics_interval: Duration::from_secs(60),
        }
    }
}

impl Default for Notifications {
    fn default() -> Self {
        Notifications {
            enabled: true,
            after: Duration::from_secs(5 * 60),
        }
    }
}

impl Default for Cloud {
    fn default() -> Self {
        Cloud {
            url: None,
            cluster: None,
            poll_interval: Duration::from_secs(10),
        }
    }
}
