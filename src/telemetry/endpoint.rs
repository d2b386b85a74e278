//! Where spans are sent: the OTLP/HTTP traces URL, resolved from its sources in order.
//!
//! First found wins:
//! 1. `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, used as is;
//! 2. `OTEL_EXPORTER_OTLP_ENDPOINT`, with `/v1/traces` appended (the OTLP exporter spec);
//! 3. `[telemetry] otlp_endpoint` in the config file: the collector's base URL like the
//!    variable above (`/v1/traces` is appended unless the URL already ends with it);
//! 4. the host and port the fleet's provisioning wrote into the VoriPOS app's user
//!    defaults (`provisioned_otlpHostname`, `provisioned_otlpPort`; a missing one defaults
//!    to `localhost` / `4318`);
//! 5. `http://localhost:4318/v1/traces`, the local collector's standard port.
//!
//! Empty variables count as unset, as the OpenTelemetry spec asks. Only `http://` URLs
//! are accepted: the collector runs on the POS Mac itself, and no TLS stack is built in.

use std::fmt;

/// The OTLP/HTTP traces path.
const TRACES_PATH: &str = "/v1/traces";

/// The collector's standard OTLP/HTTP port.
const DEFAULT_PORT: i64 = 4318;

/// Where an endpoint came from, for the start-up log and error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    TracesEnv,
    Env,
    Config,
    UserDefaults,
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::TracesEnv => "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            Origin::Env => "OTEL_EXPORTER_OTLP_ENDPOINT",
            Origin::Config => "[telemetry] otlp_endpoint",
            Origin::UserDefaults => "the com.vori.VoriPOS user defaults",
            Origin::Default => "the default",
        })
    }
}

/// The resolved traces URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub url: String,
    pub origin: Origin,
}

/// The host and port found in the user defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Provisioned {
    pub hostname: Option<String>,
    pub port: Option<i64>,
}

/// An endpoint that cannot be used.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("{origin} = {value:?} is not an http:// URL (only plain HTTP to a local collector is supported)")]
    NotHttp { origin: Origin, value: String },
    #[error("{origin} port {port} is not a TCP port")]
    BadPort { origin: Origin, port: i64 },
}

/// The explicit sources; the user defaults are read only when these are all unset.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    pub traces_env: Option<String>,
    pub env: Option<String>,
    pub config: Option<String>,
}

/// Resolves the endpoint; `provisioned` is called only when nothing before it is set.
pub fn resolve(
    sources: Sources,
    provisioned: impl FnOnce() -> Provisioned,
) -> Result<Endpoint, EndpointError> {
    let set = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    if let Some(url) = set(sources.traces_env) {
        return checked(url, Origin::TracesEnv);
    }
    if let Some(base) = set(sources.env) {
        return checked(join(&base), Origin::Env);
    }
    if let Some(base) = set(sources.config) {
        let url = match base.trim_end_matches('/').ends_with(TRACES_PATH) {
            true => base,
            false => join(&base),
        };
        return checked(url, Origin::Config);
    }
    let Provisioned { hostname, port } = provisioned();
    let hostname = set(hostname);
    if hostname.is_some() || port.is_some() {
        let origin = Origin::UserDefaults;
        let port = port.unwrap_or(DEFAULT_PORT);
        if !(1..=i64::from(u16::MAX)).contains(&port) {
            return Err(EndpointError::BadPort { origin, port });
        }
        let host = hostname.unwrap_or_else(|| "localhost".into());
        let url = match host.contains("://") {
            true => join(&host),
            false => format!("http://{}:{port}{TRACES_PATH}", bracket(&host)),
        };
        return checked(url, origin);
    }
    Ok(Endpoint {
        url: format!("http://localhost:{DEFAULT_PORT}{TRACES_PATH}"),
        origin: Origin::Default,
    })
}

/// `base` + `/v1/traces`, without doubling the slash.
fn join(base: &str) -> String {
    format!("{}{TRACES_PATH}", base.trim_end_matches('/'))
}

/// IPv6 literals need brackets in a URL.
fn bracket(host: &str) -> String {
    match host.contains(':') && !host.starts_with('[') {
        true => format!("[{host}]"),
        false => host.to_string(),
    }
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

    fn none() -> Provisioned {
        Provisioned::default()
    }

    fn sources(traces_env: Option<&str>, env: Option<&str>, config: Option<&str>) -> Sources {
        Sources {
            traces_env: traces_env.map(String::from),
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
            url(resolve(Sources::default(), none)),
            ("http://localhost:4318/v1/traces".into(), Origin::Default)
        );
    }

    #[test]
    fn the_traces_variable_is_used_as_is_and_wins() {
        let s = sources(
            Some("http://127.0.0.1:9000/custom"),
            Some("http://other:4318"),
            Some("http://config:4318"),
        );
        assert_eq!(
            url(resolve(s, || panic!("user defaults read needlessly"))),
            ("http://127.0.0.1:9000/custom".into(), Origin::TracesEnv)
        );
    }

    #[test]
    fn the_generic_variable_gets_the_traces_path() {
        let s = sources(
            None,
            Some("http://127.0.0.1:4318/"),
            Some("http://config:1"),
        );
        assert_eq!(
            url(resolve(s, none)),
            ("http://127.0.0.1:4318/v1/traces".into(), Origin::Env)
        );
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let s = sources(Some(""), Some("  "), Some("http://config:4318"));
        assert_eq!(
            url(resolve(s, none)),
            ("http://config:4318/v1/traces".into(), Origin::Config)
        );
    }

    #[test]
    fn the_config_key_takes_a_base_or_a_full_url() {
        let full = sources(None, None, Some("http://c:4318/v1/traces"));
        assert_eq!(url(resolve(full, none)).0, "http://c:4318/v1/traces");
        let prefixed = sources(None, None, Some("http://c:4318/otel"));
        assert_eq!(
            url(resolve(prefixed, none)).0,
            "http://c:4318/otel/v1/traces"
        );
    }

    #[test]
    fn user_defaults_come_before_the_default() {
        let p = || Provisioned {
            hostname: Some("10.1.2.3".into()),
            port: Some(14318),
        };
        assert_eq!(
            url(resolve(Sources::default(), p)),
            (
                "http://10.1.2.3:14318/v1/traces".into(),
                Origin::UserDefaults
            )
        );
        let host_only = || Provisioned {
            hostname: Some("collector".into()),
            port: None,
        };
        assert_eq!(
            url(resolve(Sources::default(), host_only)).0,
            "http://collector:4318/v1/traces"
        );
        let port_only = || Provisioned {
            hostname: None,
            port: Some(5000),
        };
        assert_eq!(
            url(resolve(Sources::default(), port_only)).0,
            "http://localhost:5000/v1/traces"
        );
        let v6 = || Provisioned {
            hostname: Some("::1".into()),
            port: Some(4318),
        };
        assert_eq!(
            url(resolve(Sources::default(), v6)).0,
            "http://[::1]:4318/v1/traces"
        );
    }

    #[test]
    fn a_bad_port_or_a_non_http_url_is_refused() {
        let p = || Provisioned {
            hostname: Some("h".into()),
            port: Some(70000),
        };
        assert_eq!(
            resolve(Sources::default(), p),
            Err(EndpointError::BadPort {
                origin: Origin::UserDefaults,
                port: 70000
            })
        );
        let s = sources(None, Some("https://collector.example:4318"), None);
        let err = resolve(s, none).unwrap_err();
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
        assert!(resolve(s, none).is_err());
    }
}
