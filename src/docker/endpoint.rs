//! Finding the Docker engine: `DOCKER_HOST`, the current docker context, then the
//! sockets of Docker Desktop, Colima, OrbStack and Rancher Desktop.
//!
//! [`candidates`] is pure (it is given the environment and a file reader) and decides
//! where to look; [`connect`] tries them in order and says what it tried.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::{Docker, API_DEFAULT_VERSION};
use sha2::{Digest, Sha256};

/// Seconds bollard waits for one Engine API request (image pulls stream past it).
const REQUEST_TIMEOUT: u64 = 120;

/// A place the engine might listen, and why we look there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// `unix:///path` or `tcp://host:port`.
    pub uri: String,
    /// "DOCKER_HOST", "docker context <name>", "Docker Desktop", …
    pub source: String,
}

/// What the discovery reads from the environment (see `host::environment`).
#[derive(Clone, Debug, Default)]
pub struct Env {
    pub docker_host: Option<String>,
    pub docker_context: Option<String>,
    pub home: PathBuf,
}

/// Where to look, in order. An explicit choice (`DOCKER_HOST`, or a docker context
/// other than `default`) is the only candidate: silently using another engine than
/// the one configured would be worse than saying it is down.
pub fn candidates(env: &Env, read: impl Fn(&Path) -> Option<String>) -> Vec<Candidate> {
    if let Some(host) = &env.docker_host {
        return vec![Candidate {
            uri: host.clone(),
            source: "DOCKER_HOST".into(),
        }];
    }
    let docker_dir = env.home.join(".docker");
    let context = env.docker_context.clone().or_else(|| {
        let config = read(&docker_dir.join("config.json"))?;
        let json: serde_json::Value = serde_json::from_str(&config).ok()?;
        json["currentContext"].as_str().map(str::to_string)
    });
    if let Some(name) = context.filter(|n| n != "default") {
        let hash = hex(&Sha256::digest(name.as_bytes()));
        let meta = docker_dir
            .join("contexts/meta")
            .join(hash)
            .join("meta.json");
        let host = read(&meta)
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|json| {
                json["Endpoints"]["docker"]["Host"]
                    .as_str()
                    .map(str::to_string)
            });
        return vec![Candidate {
            uri: host.unwrap_or_else(|| format!("(context {name:?} has no docker endpoint)")),
            source: format!("docker context {name}"),
        }];
    }
    let home = |rel: &str| format!("unix://{}", env.home.join(rel).display());
    vec![
        (home(".docker/run/docker.sock"), "Docker Desktop"),
        (
            "unix:///var/run/docker.sock".to_string(),
            "/var/run/docker.sock",
        ),
        (home(".colima/default/docker.sock"), "Colima"),
        (home(".orbstack/run/docker.sock"), "OrbStack"),
        (home(".rd/docker.sock"), "Rancher Desktop"),
    ]
    .into_iter()
    .map(|(uri, source)| Candidate {
        uri,
        source: source.into(),
    })
    .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A connected engine and where it was found.
#[derive(Clone, Debug)]
pub struct Connected {
    pub docker: Docker,
    pub endpoint: Candidate,
}

/// No engine answered; says where we looked and what each place answered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Docker is not running or not reachable (tried {})", .tried.join("; "))]
pub struct Unavailable {
    pub tried: Vec<String>,
}

/// Connects to the first candidate that answers a ping.
pub async fn connect(candidates: &[Candidate]) -> Result<Connected, Unavailable> {
    let mut tried = Vec::new();
    for candidate in candidates {
        match try_one(&candidate.uri).await {
            Ok(docker) => {
                return Ok(Connected {
                    docker,
                    endpoint: candidate.clone(),
                })
            }
            Err(reason) => tried.push(format!(
                "{} ({}): {reason}",
                candidate.uri, candidate.source
            )),
        }
    }
    Err(Unavailable { tried })
}

async fn try_one(uri: &str) -> Result<Docker, String> {
    let docker = if let Some(path) = uri.strip_prefix("unix://") {
        if !Path::new(path).exists() {
            return Err("no socket".into());
        }
        Docker::connect_with_socket(path, REQUEST_TIMEOUT, API_DEFAULT_VERSION)
    } else if uri.starts_with("tcp://") || uri.starts_with("http://") {
        Docker::connect_with_http(uri, REQUEST_TIMEOUT, API_DEFAULT_VERSION)
    } else {
        return Err("unsupported address".into());
    }
    .map_err(|e| e.to_string())?;
    let answered = tokio::time::timeout(Duration::from_secs(5), docker.ping()).await;
    match answered {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(e.to_string()),
        Err(_) => return Err("no answer within 5 s".into()),
    }
    // The engine may speak an older API than bollard's default; use the common one.
    docker.negotiate_version().await.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(home: &str) -> Env {
        Env {
            home: PathBuf::from(home),
            ..Default::default()
        }
    }

    fn files(entries: &[(&str, &str)]) -> impl Fn(&Path) -> Option<String> {
        let map: HashMap<PathBuf, String> = entries
            .iter()
            .map(|(p, t)| (PathBuf::from(p), t.to_string()))
            .collect();
        move |p: &Path| map.get(p).cloned()
    }

    #[test]
    fn docker_host_wins_alone() {
        let mut e = env("/Users/pos");
        e.docker_host = Some("unix:///tmp/d.sock".into());
        let c = candidates(&e, files(&[]));
        assert_eq!(
            c,
            vec![Candidate {
                uri: "unix:///tmp/d.sock".into(),
                source: "DOCKER_HOST".into()
            }]
        );
    }

    #[test]
    fn the_current_context_is_read_from_its_meta_file() {
        // sha256("colima") — the folder name the docker CLI uses for the context.
        let meta = "/Users/pos/.docker/contexts/meta/\
            f24fd3749c1368328e2b149bec149cb6795619f244c5b584e844961215dadd16/meta.json";
        let read = files(&[
            (
                "/Users/pos/.docker/config.json",
                r#"{"auths":{},"currentContext":"colima"}"#,
            ),
            (
                meta,
                r#"{"Name":"colima","Endpoints":{"docker":{"Host":"unix:///Users/pos/.colima/default/docker.sock"}}}"#,
            ),
        ]);
        let c = candidates(&env("/Users/pos"), read);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].uri, "unix:///Users/pos/.colima/default/docker.sock");
        assert_eq!(c[0].source, "docker context colima");
    }

    #[test]
    fn the_default_context_falls_back_to_the_well_known_sockets() {
        let read = files(&[(
            "/Users/pos/.docker/config.json",
            r#"{"currentContext":"default"}"#,
        )]);
        let uris: Vec<_> = candidates(&env("/Users/pos"), read)
            .into_iter()
            .map(|c| c.uri)
            .collect();
        assert_eq!(
            uris,
            [
                "unix:///Users/pos/.docker/run/docker.sock",
                "unix:///var/run/docker.sock",
                "unix:///Users/pos/.colima/default/docker.sock",
                "unix:///Users/pos/.orbstack/run/docker.sock",
                "unix:///Users/pos/.rd/docker.sock",
            ]
        );
    }

    #[test]
    fn docker_context_env_overrides_the_config_file() {
        let mut e = env("/h");
        e.docker_context = Some("orbstack".into());
        let c = candidates(&e, files(&[]));
        assert_eq!(c[0].source, "docker context orbstack");
        assert!(c[0].uri.contains("no docker endpoint"), "{:?}", c[0]);
    }

    #[tokio::test]
    async fn a_missing_socket_is_reported_with_where_we_looked() {
        let err = connect(&[Candidate {
            uri: "unix:///nonexistent/docker.sock".into(),
            source: "test".into(),
        }])
        .await
        .unwrap_err();
        assert_eq!(
            err.tried,
            vec!["unix:///nonexistent/docker.sock (test): no socket"]
        );
        assert!(err.to_string().starts_with("Docker is not running"));
    }
}
