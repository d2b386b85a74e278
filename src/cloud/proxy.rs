//! Which proxy, if any, the LiteFS Cloud client goes through: decided here, on purpose,
//! never by the HTTP library reading the environment behind our back.
//!
//! The token travels in every request's `Authorization` header, so:
//! - a plain `http://` URL never goes through a proxy (the proxy would read the token in
//!   clear text), nor does a loopback host or one `NO_PROXY` names;
//! - an `https://` URL goes through `HTTPS_PROXY` (or `https_proxy`), else `ALL_PROXY`
//!   (`all_proxy`), as a `CONNECT` tunnel: the proxy sees the host name, never the token;
//! - `HTTP_PROXY` / `http_proxy` are never used (they are for plain http, see above).
//!
//! The proxy must be an `http://` or `https://` URL; it is shown without a user or
//! password (the status, `config`).

use reqwest::Url;

/// The environment variables that decide the proxy, as read at start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyVars {
    /// `HTTPS_PROXY`, else `https_proxy`.
    pub https_proxy: Option<String>,
    /// `ALL_PROXY`, else `all_proxy`.
    pub all_proxy: Option<String>,
    /// `NO_PROXY`, else `no_proxy`: comma-separated hosts and domain suffixes, or `*`.
    pub no_proxy: Option<String>,
}

impl ProxyVars {
    /// Reads the variables through `var` (upper-case names win over lower-case ones).
    pub fn read(var: impl Fn(&str) -> Option<String>) -> ProxyVars {
        let either = |upper: &str, lower: &str| var(upper).or_else(|| var(lower));
        ProxyVars {
            https_proxy: either("HTTPS_PROXY", "https_proxy"),
            all_proxy: either("ALL_PROXY", "all_proxy"),
            no_proxy: either("NO_PROXY", "no_proxy"),
        }
    }
}

/// The proxy chosen for a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proxy {
    /// The URL as given (it may carry the proxy's own user and password).
    pub url: String,
    /// Which variable named it.
    pub from: &'static str,
}

impl Proxy {
    /// The proxy for people: scheme, host and port, never a user or password.
    pub fn shown(&self) -> String {
        match Url::parse(&self.url) {
            Ok(url) => format!(
                "{}://{}{} (from {})",
                url.scheme(),
                url.host_str().unwrap_or(""),
                url.port().map(|p| format!(":{p}")).unwrap_or_default(),
                self.from
            ),
            Err(_) => format!("(unreadable, from {})", self.from),
        }
    }
}

/// Why a proxy cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "the proxy in {from} is not an http:// or https:// URL; fix or unset {from} (LiteFS Cloud is not contacted through any other kind)"
)]
pub struct BadProxy {
    pub from: &'static str,
}

/// The proxy for requests to `url` (see the module doc); `Ok(None)`: go direct.
pub fn choose(url: &str, vars: &ProxyVars) -> Result<Option<Proxy>, BadProxy> {
    let Ok(target) = Url::parse(url) else {
        return Ok(None);
    };
    if target.scheme() != "https" {
        return Ok(None);
    }
    let host = target.host_str().unwrap_or("");
    if is_loopback(host) || excluded(host, vars.no_proxy.as_deref()) {
        return Ok(None);
    }
    let named = [
        (&vars.https_proxy, "HTTPS_PROXY"),
        (&vars.all_proxy, "ALL_PROXY"),
    ]
    .into_iter()
    .find_map(|(value, from)| value.as_deref().map(|v| (v.trim(), from)))
    .filter(|(value, _)| !value.is_empty());
    let Some((value, from)) = named else {
        return Ok(None);
    };
    match Url::parse(value) {
        Ok(proxy) if matches!(proxy.scheme(), "http" | "https") && proxy.host_str().is_some() => {
            Ok(Some(Proxy {
                url: value.to_string(),
                from,
            }))
        }
        _ => Err(BadProxy { from }),
    }
}

/// `localhost`, `*.localhost`, 127.0.0.0/8 and `::1`.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.to_ascii_lowercase().ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether `NO_PROXY` names `host`: `*`, the host itself, or a domain it is under
/// (`example.com` and `.example.com` both cover `api.example.com`).
fn excluded(host: &str, no_proxy: Option<&str>) -> bool {
    let host = host.to_ascii_lowercase();
    no_proxy
        .into_iter()
        .flat_map(|v| v.split(','))
        .any(|entry| {
            let entry = entry.trim().to_ascii_lowercase();
            let domain = entry.trim_start_matches('.');
            entry == "*"
                || (!domain.is_empty() && (host == domain || host.ends_with(&format!(".{domain}"))))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(https: Option<&str>, all: Option<&str>, no: Option<&str>) -> ProxyVars {
        ProxyVars {
            https_proxy: https.map(String::from),
            all_proxy: all.map(String::from),
            no_proxy: no.map(String::from),
        }
    }

    #[test]
    fn plain_http_and_loopback_never_go_through_a_proxy() {
        let every = vars(Some("http://p:3128"), Some("http://q:3128"), None);
        for url in [
            "http://backup.example.com",
            "http://127.0.0.1:9",
            "https://127.0.0.1:8443",
            "https://localhost",
            "https://[::1]:8443",
            "https://api.localhost",
        ] {
            assert_eq!(choose(url, &every), Ok(None), "{url}");
        }
    }

    #[test]
    fn https_goes_through_https_proxy_then_all_proxy() {
        let url = "https://litefs.fly.io";
        let both = vars(Some("http://p:3128"), Some("http://q:3128"), None);
        let chosen = choose(url, &both).unwrap().unwrap();
        assert_eq!(
            (chosen.url.as_str(), chosen.from),
            ("http://p:3128", "HTTPS_PROXY")
        );
        let all = vars(None, Some("http://q:3128"), None);
        assert_eq!(choose(url, &all).unwrap().unwrap().from, "ALL_PROXY");
        assert_eq!(choose(url, &ProxyVars::default()), Ok(None));
    }

    #[test]
    fn no_proxy_names_hosts_and_domains() {
        let url = "https://api.litefs.fly.io";
        for no in ["*", "fly.io", ".fly.io", "other.com, api.litefs.fly.io"] {
            let v = vars(Some("http://p:3128"), None, Some(no));
            assert_eq!(choose(url, &v), Ok(None), "{no}");
        }
        let v = vars(Some("http://p:3128"), None, Some("notfly.io,io.fly"));
        assert!(choose(url, &v).unwrap().is_some());
    }

    #[test]
    fn a_proxy_of_another_kind_is_refused_by_name() {
        let v = vars(None, Some("socks5://p:1080"), None);
        let err = choose("https://litefs.fly.io", &v).unwrap_err();
        assert_eq!(err.from, "ALL_PROXY");
        assert!(err.to_string().contains("ALL_PROXY"), "{err}");
    }

    #[test]
    fn the_shown_proxy_has_no_password() {
        let p = Proxy {
            url: "http://user:hunter2@proxy.corp:3128".into(),
            from: "HTTPS_PROXY",
        };
        assert_eq!(p.shown(), "http://proxy.corp:3128 (from HTTPS_PROXY)");
    }

    #[test]
    fn upper_case_names_win() {
        let env = |name: &str| match name {
            "HTTPS_PROXY" => Some("http://upper:1".to_string()),
            "https_proxy" => Some("http://lower:1".to_string()),
            "no_proxy" => Some("x".to_string()),
            _ => None,
        };
        assert_eq!(
            ProxyVars::read(env),
            vars(Some("http://upper:1"), None, Some("x"))
        );
    }
}
