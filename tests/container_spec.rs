//! `docker/compose.yml` (for developers) must describe the container the app creates.

use std::path::Path;

use serde_yaml_ng::Value;
use voripos_domain_sync::config::{Config, Secret};
use voripos_domain_sync::docker::spec::{ContainerSpec, DATA_DIR, LITEFS_PORT, MANAGED_LABEL};

fn compose() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docker/compose.yml");
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .unwrap_or_else(|| panic!("not a list: {v:?}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn compose_mirrors_the_container_spec() {
    let config = Config::parse("", Path::new("defaults.toml")).unwrap();
    let spec = ContainerSpec::new(&config, Some(&Secret::new("t".into())));
    let body = spec.create_body();
    let host = body.host_config.clone().unwrap();
    let doc = compose();
    let service = &doc["services"]["litefs"];

    assert_eq!(service["image"].as_str(), Some(spec.image.as_str()));
    assert_eq!(service["container_name"].as_str(), Some(spec.name.as_str()));
    assert_eq!(service["labels"][MANAGED_LABEL].as_str(), Some("true"));

    let env = service["environment"].as_mapping().unwrap();
    let keys: Vec<_> = env
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    let spec_keys: Vec<_> = spec.env.keys().cloned().collect();
    assert_eq!(
        keys.len(),
        spec_keys.len(),
        "compose env {keys:?} vs spec {spec_keys:?}"
    );
    for key in &keys {
        assert!(
            spec.env.contains_key(key),
            "compose sets {key}, the app does not"
        );
    }
    // Only what LiteFS reads: it replicates every database in its mount, so the
    // database's name is the app's business alone.
    let mut names: Vec<&str> = keys.iter().map(String::as_str).collect();
    names.sort();
    assert_eq!(names, ["LITEFS_CLOUD_TOKEN"]);

    let device = &host.devices.unwrap()[0];
    let device = format!(
        "{}:{}:{}",
        device.path_on_host.as_deref().unwrap(),
        device.path_in_container.as_deref().unwrap(),
        device.cgroup_permissions.as_deref().unwrap()
    );
    assert_eq!(strings(&service["devices"]), vec![device]);
    assert_eq!(strings(&service["cap_add"]), host.cap_add.unwrap());
    assert_eq!(
        strings(&service["security_opt"]),
        host.security_opt.unwrap()
    );
    assert_eq!(
        service["privileged"].as_bool().unwrap_or(false),
        host.privileged.unwrap()
    );

    let binding = host.port_bindings.unwrap()[&format!("{LITEFS_PORT}/tcp")]
        .clone()
        .unwrap()[0]
        .clone();
    assert_eq!(
        strings(&service["ports"]),
        vec![format!(
            "{}:{}:{LITEFS_PORT}",
            binding.host_ip.unwrap(),
            binding.host_port.unwrap()
        )]
    );
    let mount = &host.mounts.unwrap()[0];
    assert_eq!(mount.target.as_deref(), Some(DATA_DIR));
    assert_eq!(
        strings(&service["volumes"]),
        vec![format!("{}:{DATA_DIR}", spec.volume)]
    );
    assert_eq!(
        doc["volumes"][spec.volume.as_str()]["name"].as_str(),
        Some(spec.volume.as_str())
    );
    assert_eq!(service["restart"].as_str(), Some("unless-stopped"));
    assert_eq!(
        host.restart_policy.unwrap().name.unwrap().to_string(),
        "unless-stopped"
    );
}

#[test]
fn the_default_image_is_pinned_to_this_app_versions_tag_never_latest() {
    // 0.4.x pulls `:latest` at every start and needs its copy scripts in it; this version
    // names a tag of its own, so publishing its image breaks no 0.4.x Mac, and an
    // upgraded Mac, which lacks the new tag, pulls it.
    let config = Config::parse("", Path::new("defaults.toml")).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        config.container.image,
        format!("us-docker.pkg.dev/vori-1bdf0/pos/domain-data:{version}")
    );
    assert_eq!(
        compose()["services"]["litefs"]["image"].as_str(),
        Some(config.container.image.as_str())
    );
    for text in ["docker/Dockerfile", "docker/compose.yml"] {
        let path = format!("{}/{text}", env!("CARGO_MANIFEST_DIR"));
        let body = std::fs::read_to_string(&path).unwrap();
        assert!(!body.contains("domain-data:latest"), "{text}");
    }
    // The README's release steps push the image under the tag the app pins.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        readme.contains("-t \"us-docker.pkg.dev/vori-1bdf0/pos/domain-data:$version\""),
        "README, Building the image"
    );
    assert!(!readme.contains("domain-data:latest --push"));
}
