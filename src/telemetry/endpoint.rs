//! Where spans and metrics are sent: the OTLP/HTTP URL of each signal, resolved from its
//! sources in order.
//!
//! First found wins:
//! 1. `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (spans) or `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`
//!    (metrics), used as is;
//! 2. `OTEL_EXPORTER_OTLP_ENDPOINT`, with `/v1/traces` or `/v1/metrics` appended (the OTLP
//!    exporter spec);
//! 3. `[telemetry] otlp_endpoint` in the config file: the collector's base URL like the
//!    variable above (a URL already ending with a signal's path has it replaced);
//! 4. `http://localhost:4318`, the store Mac's local collector.
//!
//! The POS app's user defaults `provisioned_otlpHostname` / `provisioned_otlpPort` are
//! **never** used: they are the local collector's own upstream (OTLP/gRPC with OAuth2),
//! and a request sent there directly has no credentials and no store tags.
//!
//! Empty variables count as unset, as the OpenTelemetry spec asks. Only `http://` URLs
//! are accepted: the collector runs on the POS Mac itself, and no TLS stack is built in.

use std::collections::BTreeMap;
use std::fmt;

/// The local collector's OTLP/HTTP base URL.
const LOCAL_COLLECTOR: &str = "http://localhost:4318";

/// What is sent: each has its own path and its own variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Traces,
    Metrics,
}

impl Signal {
    /// The OTLP/HTTP path of the signal.
    pub fn path(self) -> &'static str {
        match self {
            Signal::Traces => "/v1/traces",
            Signal::Metrics => "/v1/metrics",
        }
    }

    /// The variable that names this signal's URL.
    pub fn variable(self) -> &'static str {
        match self {
            Signal::Traces => "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            Signal::Metrics => "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        }
    }
}

/// The variable that names the collector's base URL for every signal.
pub const BASE_VARIABLE: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// Where an endpoint came from, for the start-up log and error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    SignalEnv(Signal),
    Env,
    Config,
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::SignalEnv(signal) => signal.variable(),
            Origin::Env => BASE_VARIABLE,
            Origin::Config => "[telemetry] otlp_endpoint",
            Origin::Default => "the default (the local collector)",
        })
    }
}

/// The resolved URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub url: String,
    pub origin: Origin,
}

/// The host and port the fleet's provisioning stored in the POS app's user defaults: the
/// local collector's upstream, shown by the `config` command and never sent to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Provisioned {
    pub hostname: Option<String>,
    pub port: Option<i64>,
}

impl Provisioned {
    /// `host:port` as found (`?` for a missing part); `None` when neither is set.
    pub fn describe(&self) -> Option<String> {
        if self.hostname.is_none() && self.port.is_none() {
            return None;
        }
        let host = self.hostname.as_deref().unwrap_or("?");
        let port = self.port.map_or("?".to_string(), |p| p.to_string());
        Some(format!("{host}:{port}"))
    }
}

/// An endpoint that cannot be used.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("{origin} = {value:?} is not an http:// URL (only plain HTTP to a local collector is supported)")]
    NotHttp { origin: Origin, value: String },
}

/// The explicit sources, as the process and the config file give them.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// The signal's own variable (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `…_METRICS_…`).
    pub signal_env: Option<String>,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub env: Option<String>,
    /// `[telemetry] otlp_endpoint`.
    pub config: Option<String>,
}

/// The `OTEL_EXPORTER_OTLP_*` endpoint variables that are set, by name.
pub type Variables = BTreeMap<String, String>;

impl Sources {
    /// `variables`' values for `signal` beside the config file's key.
    pub fn from_variables(
        signal: Signal,
        config: Option<String>,
        variables: &Variables,
    ) -> Sources {
        Sources::from_lookup(signal, config, |name| variables.get(name).cloned())
    }

    /// The variables for `signal` as `lookup` gives them, beside the config file's key.
    pub fn from_lookup(
        signal: Signal,
        config: Option<String>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Sources {
        Sources {
            signal_env: lookup(signal.variable()),
            env: lookup(BASE_VARIABLE),
            config,
        }
    }
}

/// Resolves the URL of `signal`.
pub fn resolve(signal: Signal, sources: Sources) -> Result<Endpoint, EndpointError> {
    let set = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    if let Some(url) = set(sources.signal_env) {
        return checked(url, Origin::SignalEnv(signal));
    }
    if let Some(base) = set(sources.env) {
        return checked(join(&base, signal), Origin::Env);
    }
    if let Some(base) = set(sources.config) {
        return checked(join(&base, signal), Origin::Config);
    }
    Ok(Endpoint {
        url: join(LOCAL_COLLECTOR, signal),
        origin: Origin::Default,
    })
}

/// `base` + the signal's path, without doubling the slash; a base that already ends with
/// a signal's path (a full URL) has that path replaced.
fn join(base: &str, signal: Signal) -> String {
    let mut base = base.trim_end_matches('/');
    for known in [Signal::Traces, Signal::Metrics] {
        if let Some(stripped) = base.strip_suffix(known.path()) {
            base = stripped;
        }
    }
    format!("{}{}", base.trim_end_matches('/'), signal.path())
}

fn checked(url: String, origin: Origin) -> Result<Endpoint, EndpointError> {
    let host = url.strip_prefix("http://").unwrap_or_default();
    if host.is_empty() || host.starts_with('/') {
        return Err(EndpointError::NotHttp { origin, value: url });
    }
    Ok(Endpoint { url, origin })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(signal_env: Option<&str>, env: Option<&str>, config: Option<&str>) -> Sources {
        Sources {
            signal_env: signal_env.map(String::from),
            env: env.map(String::from),
            config: config.map(String::from),
        }
    }

    fn url(r: Result<Endpoint, EndpointError>) -> (String, Origin) {
        let e = r.unwrap();
        (e.url, e.origin)
    }

    #[test]
    fn nothing_set_gives_the_local_collector() {
        assert_eq!(
            url(resolve(Signal::Traces, Sources::default())),
            ("http://localhost:4318/v1/traces".into(), Origin::Default)
        );
        assert_eq!(
            url(resolve(Signal::Metrics, Sources::default())),
            ("http://localhost:4318/v1/metrics".into(), Origin::Default)
        );
    }

    #[test]
    fn the_signal_variable_is_used_as_is_and_wins() {
        let s = sources(
            Some("http://127.0.0.1:9000/custom"),
            Some("http://other:4318"),
            Some("http://config:4318"),
        );
        assert_eq!(
            url(resolve(Signal::Metrics, s)),
            (
                "http://127.0.0.1:9000/custom".into(),
                Origin::SignalEnv(Signal::Metrics)
            )
        );
    }

    #[test]
    fn each_signal_reads_its_own_variable() {
        let env = |name: &str| match name {
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" => Some("http://t:1/x".to_string()),
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://base:2".to_string()),
            _ => None,
        };
        let traces = Sources::from_lookup(Signal::Traces, None, env);
        assert_eq!(url(resolve(Signal::Traces, traces)).0, "http://t:1/x");
        let metrics = Sources::from_lookup(Signal::Metrics, None, env);
        assert_eq!(
            url(resolve(Signal::Metrics, metrics)),
            ("http://base:2/v1/metrics".into(), Origin::Env)
        );
    }

    #[test]
    fn the_generic_variable_gets_the_signal_path() {
        let s = sources(
            None,
            Some("http://127.0.0.1:4318/"),
            Some("http://config:1"),
        );
        assert_eq!(
            url(resolve(Signal::Traces, s)),
            ("http://127.0.0.1:4318/v1/traces".into(), Origin::Env)
        );
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let s = sources(Some(""), Some("  "), Some("http://config:4318"));
        assert_eq!(
            url(resolve(Signal::Traces, s)),
            ("http://config:4318/v1/traces".into(), Origin::Config)
        );
    }

    #[test]
    fn the_config_key_takes_a_base_or_a_full_url() {
        let full = || sources(None, None, Some("http://c:4318/v1/traces"));
        assert_eq!(
            url(resolve(Signal::Traces, full())).0,
            "http://c:4318/v1/traces"
        );
        assert_eq!(
            url(resolve(Signal::Metrics, full())).0,
            "http://c:4318/v1/metrics"
        );
        let prefixed = sources(None, None, Some("http://c:4318/otel"));
        assert_eq!(
            url(resolve(Signal::Traces, prefixed)).0,
            "http://c:4318/otel/v1/traces"
        );
    }

    #[test]
    fn provisioned_keys_are_described_for_the_report() {
        assert_eq!(Provisioned::default().describe(), None);
        let p = Provisioned {
            hostname: Some("otel.example".into()),
            port: None,
        };
        assert_eq!(p.describe().as_deref(), Some("otel.example:?"));
    }

    #[test]
    fn a_non_http_url_is_refused() {
        let s = sources(None, Some("https://collector.example:4318"), None);
        let err = resolve(Signal::Traces, s).unwrap_err();
        assert!(matches!(
            err,
            EndpointError::NotHttp {
                origin: Origin::Env,
                ..
            }
        ));
        assert!(
            err.to_string().contains("OTEL_EXPORTER_OTLP_ENDPOINT"),
            "{err}"
        );
        let s = sources(None, None, Some("localhost:4318"));
        assert!(resolve(Signal::Metrics, s).is_err());
    }
}
