//! The text of the `config` command: every effective value and where it came from.
//!
//! Pure: it is given the configuration, the file's raw table (to tell a value set in the
//! file from a default), a snapshot of the environment variables that matter and the
//! token lookup, so it is tested without touching the process. The token is shown as
//! `[redacted]` with its source, never its value.

use std::path::Path;

use crate::cloud::client::lfsb_cluster;
use crate::cloud::proxy::{self, ProxyVars};
use crate::config::token::Found;
use crate::config::{managed, Config, PublishFolder, CONFIG_ENV};
use crate::telemetry::endpoint::{self, Provisioned, Signal, Sources, Variables};

/// Everything the report is made from.
pub struct Inputs<'a> {
    pub config: &'a Config,
    /// The config file used, and whether it came from `--config`.
    pub file: &'a Path,
    pub from_flag: bool,
    /// The file's top-level table; `None` when there is no file.
    pub raw: Option<&'a toml::Table>,
    /// Whether `VORIPOS_DOMAIN_SYNC_CONFIG` named the file.
    pub config_from_env: bool,
    /// The OTLP endpoint variables that are set.
    pub otlp: &'a Variables,
    pub token: &'a Found,
    /// The collector upstream in the POS app's user defaults (named as not used).
    pub provisioned: Provisioned,
    /// The effective status file.
    pub status_file: &'a Path,
    /// The proxy variables (the LiteFS Cloud client's proxy is decided from them).
    pub proxy: &'a ProxyVars,
    /// The effective publish folder and why.
    pub publish_folder: &'a PublishFolder,
}

/// Renders the report: TOML that could be pasted into a config file, each value with its
/// source as a comment.
pub fn render(inputs: &Inputs<'_>) -> String {
    let file = inputs.file.display().to_string();
    let located_by = match (inputs.from_flag, inputs.config_from_env) {
        (true, _) => "--config".to_string(),
        (false, true) => format!("environment {CONFIG_ENV}"),
        (false, false) => "the default location".to_string(),
    };
    let mut out = format!("# config file: {file} (chosen by {located_by}; ");
    out += match inputs.raw {
        Some(_) => "read)\n",
        None => "not found: every value is the default)\n",
    };
    if let Some(label) = inputs.config.managed.label() {
        out += &format!(
            "# {label}: the values marked \"{}\" come from a configuration profile, \
             win over every other source and cannot be changed here\n",
            managed::MANAGED_BY_YOUR_ORGANIZATION
        );
    }
    let effective = match toml::Table::try_from(inputs.config) {
        Ok(table) => table,
        Err(e) => return format!("{out}# cannot render the configuration: {e}\n"),
    };
    for (section, values) in &effective {
        let Some(values) = values.as_table() else {
            continue;
        };
        out += &format!("\n[{section}]\n");
        let raw_section = inputs
            .raw
            .and_then(|r| r.get(section))
            .and_then(|s| s.as_table());
        for (key, value) in values {
            let managed = inputs.config.managed.source_of(&format!("{section}.{key}"));
            let source = match (managed, raw_section.is_some_and(|s| s.contains_key(key))) {
                (Some(managed), _) => managed,
                (None, true) => file.clone(),
                (None, false) => "default".into(),
            };
            out += &line(&format!("{key} = {value}"), &source);
        }
        out += &unset_lines(section, values, inputs);
    }
    out
}

/// The optional keys that have no value, and what stands in for them.
fn unset_lines(section: &str, values: &toml::Table, inputs: &Inputs<'_>) -> String {
    let unset = |key: &str| !values.contains_key(key);
    let mut out = String::new();
    match section {
        "litefs" => {
            out += &match (&inputs.token.source, inputs.token.token.is_some()) {
                (Some(source), true) => line("# cloud_token = [redacted]", source),
                _ => format!(
                    "# cloud_token: not set (looked in: {})\n",
                    inputs.token.looked_in.join(", ")
                ),
            };
            if unset("cloud_endpoint") {
                out += "# cloud_endpoint: not set (the image's LiteFS Cloud endpoint)\n";
            }
        }
        "cloud" => {
            let url = inputs.config.cloud_url().unwrap_or_default();
            out += &match proxy::choose(url, inputs.proxy) {
                Ok(Some(p)) => format!("# proxy: {} (a CONNECT tunnel; https only)\n", p.shown()),
                Ok(None) => {
                    "# proxy: none (direct; plain http and loopback never use one)\n".into()
                }
                Err(e) => format!("# proxy: {e}\n"),
            };
            let token = inputs.token.token.as_ref();
            if let Some(cluster) = token.and_then(|t| lfsb_cluster(t.expose())) {
                out += &format!(
                    "# the token names cluster {cluster:?}: a self-hosted LiteFS Cloud (litefs-backup) serves that cluster and ignores `cluster` here (sent as ?cluster=)\n"
                );
            }
        }
        "publish" => {
            let folder = inputs.publish_folder;
            if unset("dir") {
                out += &line(
                    &format!("# dir = {:?}", folder.path.display().to_string()),
                    &format!("default: {}", folder.reason),
                );
            } else {
                out += &format!("# publishing into {}\n", folder.path.display());
            }
        }
        "status" if unset("file") => {
            out += &line(
                &format!("# file = {:?}", inputs.status_file.display().to_string()),
                "default",
            );
        }
        "telemetry" if inputs.config.telemetry.enabled => {
            for (signal, what) in [(Signal::Traces, "spans"), (Signal::Metrics, "metrics")] {
                let sources = Sources::from_variables(
                    signal,
                    inputs.config.telemetry.otlp_endpoint.clone(),
                    inputs.otlp,
                );
                out += &match endpoint::resolve(signal, sources) {
                    Ok(e) => line(&format!("# {what} go to {}", e.url), &e.origin.to_string()),
                    Err(e) => format!("# no {what} are sent: {e}\n"),
                };
            }
            if let Some(upstream) = inputs.provisioned.describe() {
                out += &format!(
                    "# provisioned_otlpHostname/provisioned_otlpPort ({upstream}) in the POS app's user defaults: the local collector's upstream, never sent to\n"
                );
            }
        }
        _ => {}
    }
    out
}

/// `text` padded to a column, then `# source`.
fn line(text: &str, source: &str) -> String {
    format!("{text:<40} # {source}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use std::path::PathBuf;

    struct Case {
        text: String,
        config_from_env: bool,
        otlp: Variables,
        token: Found,
        provisioned: Provisioned,
        proxy: ProxyVars,
    }

    impl Case {
        fn new(text: &str) -> Case {
            Case {
                text: text.into(),
                config_from_env: false,
                otlp: Variables::new(),
                token: Found {
                    looked_in: vec!["environment LITEFS_CLOUD_TOKEN".into(), "/w/.env".into()],
                    ..Found::default()
                },
                provisioned: Provisioned::default(),
                proxy: ProxyVars::default(),
            }
        }

        fn render(&self, file_exists: bool) -> String {
            let path = PathBuf::from("/etc/vds/config.toml");
            let config = Config::parse(&self.text, &path).unwrap();
            let raw: toml::Table = toml::from_str(&self.text).unwrap();
            render(&Inputs {
                config: &config,
                file: &path,
                from_flag: false,
                raw: file_exists.then_some(&raw),
                config_from_env: self.config_from_env,
                otlp: &self.otlp,
                token: &self.token,
                provisioned: self.provisioned.clone(),
                status_file: Path::new("/data/status.json"),
                proxy: &self.proxy,
                publish_folder: &folder(),
            })
        }
    }

    #[test]
    fn the_cloud_proxy_is_named_with_its_variable_and_no_password() {
        let mut case = Case::new(
            "[source]\nkind = \"cloud\"\n[cloud]\nurl = \"https://backup.example.com\"\n",
        );
        case.proxy = ProxyVars {
            https_proxy: Some("http://me:secret-pw@proxy.corp:3128".into()),
            ..ProxyVars::default()
        };
        let text = case.render(true);
        let proxy = line_of(&text, "# proxy: ");
        assert!(
            proxy.contains("http://proxy.corp:3128 (from HTTPS_PROXY)"),
            "{proxy}"
        );
        assert!(!text.contains("secret-pw"), "{text}");

        let mut plain =
            Case::new("[source]\nkind = \"cloud\"\n[cloud]\nurl = \"http://backup.example.com\"\n");
        plain.proxy = case.proxy.clone();
        assert!(line_of(&plain.render(true), "# proxy: ").starts_with("# proxy: none"));
    }

    fn folder() -> PublishFolder {
        crate::config::choose_folder(None, Some(Path::new("/Users/pos")), false)
    }

    fn line_of<'a>(text: &'a str, start: &str) -> &'a str {
        text.lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no line starting with {start:?} in\n{text}"))
    }

    #[test]
    fn values_from_the_file_name_it_and_the_rest_are_defaults() {
        let text = Case::new("[publish]\nkeep = 3\n[litefs]\nurl = \"http://10.0.0.1:20202\"\n")
            .render(true);
        assert!(text.starts_with(
            "# config file: /etc/vds/config.toml (chosen by the default location; read)\n"
        ));
        assert!(line_of(&text, "keep = 3").ends_with("# /etc/vds/config.toml"));
        assert!(line_of(&text, "url = \"http://10.0.0.1:20202\"").ends_with("/config.toml"));
        assert!(line_of(&text, "database = \"Domain.sqlite3\"").ends_with("# default"));
        assert!(line_of(&text, "stale_after = \"30m\"").ends_with("# default"));
        assert!(line_of(&text, "# file = \"/data/status.json\"").ends_with("# default"));
        let dir = line_of(
            &text,
            "# dir = \"/Users/pos/Library/Application Support/VoriPOS/Domain\"",
        );
        assert!(
            dir.contains("# default: there is no VoriPOS sandbox container"),
            "{dir}"
        );
        assert!(line_of(&text, "# cloud_token: not set").contains("/w/.env"));
        let spans = line_of(&text, "# spans go to http://localhost:4318/v1/traces");
        assert!(
            spans.ends_with("# the default (the local collector)"),
            "{spans}"
        );
        let metrics = line_of(&text, "# metrics go to http://localhost:4318/v1/metrics");
        assert!(
            metrics.ends_with("# the default (the local collector)"),
            "{metrics}"
        );
        // The report is itself a valid config file.
        toml::from_str::<toml::Table>(&text).unwrap();
    }

    #[test]
    fn no_file_means_every_value_is_the_default() {
        let mut case = Case::new("");
        case.config_from_env = true;
        let text = case.render(false);
        assert!(text.contains("chosen by environment VORIPOS_DOMAIN_SYNC_CONFIG; not found"));
        assert!(!text.contains("# /etc/vds/config.toml"), "{text}");
    }

    #[test]
    fn the_token_is_redacted_with_its_source() {
        let mut case = Case::new("[litefs]\ncloud_token = \"file-secret\"\n");
        case.token.token = Some(Secret::new("env-secret".into()));
        case.token.source = Some("environment LITEFS_CLOUD_TOKEN".into());
        let text = case.render(true);
        let token = line_of(&text, "# cloud_token = [redacted]");
        assert!(
            token.ends_with("# environment LITEFS_CLOUD_TOKEN"),
            "{token}"
        );
        assert!(!text.contains("secret"), "{text}");
    }

    #[test]
    fn an_lfsb_token_says_the_cluster_setting_is_not_used() {
        let mut case = Case::new("[cloud]\ncluster = \"store-7\"\n");
        let text = case.render(true);
        assert!(!text.contains("litefs-backup"), "no token, no note: {text}");
        case.token.token = Some(Secret::new("cluster store-8".into()));
        case.token.source = Some("environment LITEFS_CLOUD_TOKEN".into());
        let text = case.render(true);
        let note = line_of(&text, "# the token names cluster \"store-8\"");
        assert!(note.contains("ignores `cluster` here"), "{note}");
        toml::from_str::<toml::Table>(&text).unwrap();
    }

    #[test]
    fn environment_overrides_of_telemetry_are_named() {
        let mut case = Case::new("[telemetry]\notlp_endpoint = \"http://10.0.0.9:4318\"\n");
        let text = case.render(true);
        assert!(line_of(&text, "otlp_endpoint = ").ends_with("/config.toml"));
        assert!(
            line_of(&text, "# spans go to http://10.0.0.9:4318/v1/traces")
                .ends_with("# [telemetry] otlp_endpoint")
        );
        case.otlp.insert(
            "OTEL_EXPORTER_OTLP_ENDPOINT".into(),
            "http://collector:4318".into(),
        );
        let text = case.render(true);
        assert!(
            line_of(&text, "# spans go to http://collector:4318/v1/traces")
                .ends_with("# OTEL_EXPORTER_OTLP_ENDPOINT")
        );
        case.otlp.insert(
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT".into(),
            "http://m:1/metrics".into(),
        );
        let text = case.render(true);
        assert!(line_of(&text, "# metrics go to http://m:1/metrics")
            .ends_with("# OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"));
        let mut case = Case::new("[telemetry]\nenabled = false\n");
        case.provisioned.port = Some(9999);
        assert!(!case.render(true).contains("spans go to"));
    }

    #[test]
    fn managed_values_are_named_as_managed_by_your_organization() {
        let profile =
            PathBuf::from("/Library/Managed Preferences/com.vori.VoriPOS.DomainSync.plist");
        let path = PathBuf::from("/etc/vds/config.toml");
        let text = "[publish]\nkeep = 3\nquick_check = false\n";
        let mut config = Config::parse(text, &path).unwrap();
        config.publish.keep = 8;
        config
            .managed
            .keys
            .insert("publish.keep".into(), profile.clone());
        let raw: toml::Table = toml::from_str(text).unwrap();
        let case = Case::new(text);
        let render = |config: &Config| {
            render(&Inputs {
                config,
                file: &path,
                from_flag: false,
                raw: Some(&raw),
                config_from_env: false,
                otlp: &case.otlp,
                token: &case.token,
                provisioned: Provisioned::default(),
                status_file: Path::new("/data/status.json"),
                proxy: &case.proxy,
                publish_folder: &folder(),
            })
        };
        let text = render(&config);
        assert!(line_of(&text, "keep = 8").ends_with(&format!(
            "# managed by your organization ({})",
            profile.display()
        )));
        assert!(line_of(&text, "quick_check = false").ends_with("# /etc/vds/config.toml"));
        assert!(line_of(&text, "# Managed by your organization: ").contains("cannot be changed"));
        toml::from_str::<toml::Table>(&text).unwrap();
        config.managed = Default::default();
        assert!(!render(&config).contains("anaged"));
    }

    #[test]
    fn the_provisioned_upstream_is_named_and_not_used() {
        let mut case = Case::new("");
        case.provisioned = Provisioned {
            hostname: Some("otel.vori.example".into()),
            port: Some(4317),
        };
        let text = case.render(false);
        assert!(
            line_of(&text, "# spans go to http://localhost:4318/v1/traces")
                .ends_with("(the local collector)")
        );
        assert!(line_of(
            &text,
            "# provisioned_otlpHostname/provisioned_otlpPort (otel.vori.example:4317)"
        )
        .ends_with("never sent to"));
    }
}
