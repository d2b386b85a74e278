//! The LiteFS container, defined in one place.
//!
//! [`ContainerSpec::new`] turns the configuration into everything Docker needs; its
//! hash is stored in a label so a container created from an older spec (another image,
//! port or token) is recognised and recreated. `docker/compose.yml` mirrors this for
//! developers, and a test keeps the two in agreement.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    ContainerCreateBody, DeviceMapping, HostConfig, Mount, MountType, PortBinding, RestartPolicy,
    RestartPolicyNameEnum,
};
use sha2::{Digest, Sha256};

use crate::config::{Config, Secret};

/// Label on everything we create; we never touch a container or volume without it.
pub const MANAGED_LABEL: &str = "com.vori.voripos-domain-sync.managed";
/// Label holding the hash of the spec a container was created from.
pub const SPEC_LABEL: &str = "com.vori.voripos-domain-sync.spec";
/// LiteFS's HTTP API port inside the container.
pub const LITEFS_PORT: u16 = 20202;
/// LiteFS's data folder, kept in a named volume so a restart does not re-download.
pub const DATA_DIR: &str = "/var/lib/litefs";
/// LiteFS's FUSE mount, where `<db>-pos` lives.
pub const FUSE_DIR: &str = "/litefs";

/// What the container must look like.
#[derive(Clone, Debug)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    pub volume: String,
    pub host_port: u16,
    pub privileged: bool,
    /// Environment; the token is kept as a [`Secret`] so it never prints.
    pub env: BTreeMap<String, EnvValue>,
}

/// An environment value; secrets are hashed, never shown.
#[derive(Clone, Debug)]
pub enum EnvValue {
    Plain(String),
    Secret(Secret),
}

impl EnvValue {
    fn expose(&self) -> &str {
        match self {
            EnvValue::Plain(v) => v,
            EnvValue::Secret(s) => s.expose(),
        }
    }
}

impl ContainerSpec {
    /// The fleet's container for `config`, with the LiteFS Cloud `token` if any.
    pub fn new(config: &Config, token: Option<&Secret>) -> Self {
        let c = &config.container;
        let mut env = BTreeMap::new();
        if let Some(token) = token {
            env.insert("LITEFS_CLOUD_TOKEN".into(), EnvValue::Secret(token.clone()));
        }
        if let Some(endpoint) = &config.litefs.cloud_endpoint {
            env.insert(
                "LITEFS_CLOUD_ENDPOINT".into(),
                EnvValue::Plain(endpoint.clone()),
            );
        }
        ContainerSpec {
            name: c.name.clone(),
            image: c.image.clone(),
            volume: format!("{}-data", c.name),
            host_port: c.host_port,
            privileged: c.privileged,
            env,
        }
    }

    /// A short, stable hash of everything that defines the container (the token
    /// enters only through its own hash).
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        for part in [&self.name, &self.image, &self.volume] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        h.update(self.host_port.to_be_bytes());
        h.update([u8::from(self.privileged)]);
        for (key, value) in &self.env {
            h.update(key.as_bytes());
            h.update([0]);
            match value {
                EnvValue::Plain(v) => h.update(v.as_bytes()),
                EnvValue::Secret(s) => h.update(Sha256::digest(s.expose().as_bytes())),
            }
            h.update([0]);
        }
        h.finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Labels for the container and its volume.
    pub fn labels(&self) -> HashMap<String, String> {
        HashMap::from([
            (MANAGED_LABEL.to_string(), "true".to_string()),
            (SPEC_LABEL.to_string(), self.hash()),
        ])
    }

    /// The Engine API body that creates the container.
    pub fn create_body(&self) -> ContainerCreateBody {
        let port = format!("{LITEFS_PORT}/tcp");
        let host_config = HostConfig {
            // FUSE needs the device and CAP_SYS_ADMIN (and no AppArmor confinement on
            // Linux hosts); `privileged` is the blunt alternative, off by default.
            devices: (!self.privileged).then(|| {
                vec![DeviceMapping {
                    path_on_host: Some("/dev/fuse".into()),
                    path_in_container: Some("/dev/fuse".into()),
                    cgroup_permissions: Some("rwm".into()),
                }]
            }),
            cap_add: (!self.privileged).then(|| vec!["SYS_ADMIN".into()]),
            security_opt: (!self.privileged).then(|| vec!["apparmor=unconfined".into()]),
            privileged: Some(self.privileged),
            port_bindings: Some(HashMap::from([(
                port.clone(),
                Some(vec![PortBinding {
                    host_ip: Some("127.0.0.1".into()),
                    host_port: Some(self.host_port.to_string()),
                }]),
            )])),
            mounts: Some(vec![Mount {
                target: Some(DATA_DIR.into()),
                source: Some(self.volume.clone()),
                typ: Some(MountType::VOLUME),
                ..Default::default()
            }]),
            restart_policy: Some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
                maximum_retry_count: None,
            }),
            ..Default::default()
        };
        ContainerCreateBody {
            image: Some(self.image.clone()),
            env: Some(
                self.env
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.expose()))
                    .collect(),
            ),
            labels: Some(self.labels()),
            exposed_ports: Some(vec![port]),
            host_config: Some(host_config),
            ..Default::default()
        }
    }

    /// The URL of LiteFS's API as published on the host.
    pub fn litefs_url(&self) -> String {
        ContainerSpec::url_for_port(self.host_port)
    }

    /// The URL of LiteFS's API when the container publishes it on `host_port`.
    pub fn url_for_port(host_port: u16) -> String {
        format!("http://127.0.0.1:{host_port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config(extra: &str) -> Config {
        Config::parse(extra, Path::new("c.toml")).unwrap()
    }

    #[test]
    fn the_fleet_defaults() {
        let spec = ContainerSpec::new(&config(""), Some(&Secret::new("tok".into())));
        assert_eq!(spec.name, "voripos-domain-sync-litefs");
        assert_eq!(spec.volume, "voripos-domain-sync-litefs-data");
        assert_eq!(
            spec.image,
            format!(
                "us-docker.pkg.dev/vori-1bdf0/pos/domain-data:{}",
                env!("CARGO_PKG_VERSION")
            )
        );
        let body = spec.create_body();
        let host = body.host_config.unwrap();
        assert_eq!(host.privileged, Some(false));
        assert_eq!(host.cap_add, Some(vec!["SYS_ADMIN".to_string()]));
        let binding = &host.port_bindings.unwrap()["20202/tcp"].clone().unwrap()[0];
        assert_eq!(binding.host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(binding.host_port.as_deref(), Some("20202"));
        assert!(body
            .env
            .unwrap()
            .contains(&"LITEFS_CLOUD_TOKEN=tok".to_string()));
    }

    #[test]
    fn privileged_replaces_device_and_capability() {
        let spec = ContainerSpec::new(&config("[container]\nprivileged = true\n"), None);
        let host = spec.create_body().host_config.unwrap();
        assert_eq!(host.privileged, Some(true));
        assert!(host.devices.is_none() && host.cap_add.is_none());
    }

    #[test]
    fn the_hash_changes_with_anything_that_matters_and_hides_the_token() {
        let token = |t: &str| Some(Secret::new(t.into()));
        let base = ContainerSpec::new(&config(""), token("a").as_ref()).hash();
        assert_eq!(
            base,
            ContainerSpec::new(&config(""), token("a").as_ref()).hash()
        );
        assert_ne!(
            base,
            ContainerSpec::new(&config(""), token("b").as_ref()).hash()
        );
        assert_ne!(
            base,
            ContainerSpec::new(&config("[container]\nhost_port = 1\n"), token("a").as_ref()).hash()
        );
        assert_ne!(
            base,
            ContainerSpec::new(&config("[container]\nimage = \"x\"\n"), token("a").as_ref()).hash()
        );
        let spec = ContainerSpec::new(&config(""), token("sekrit-99").as_ref());
        assert!(!format!("{spec:?}").contains("sekrit-99"));
        assert!(!spec.hash().contains("sekrit"));
    }
}
