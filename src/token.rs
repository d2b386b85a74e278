//! Where the LiteFS Cloud token comes from: the environment, then the config file.
//!
//! The token is only handed to the container's environment; everything else sees
//! where it came from, never its value.

use crate::config::{Config, Secret};

/// Environment variable holding the token.
pub const TOKEN_ENV: &str = "LITEFS_CLOUD_TOKEN";

/// The token found, and where.
#[derive(Clone, Debug)]
pub struct Found {
    pub token: Option<Secret>,
    /// "environment LITEFS_CLOUD_TOKEN", "config file", or `None` when not found.
    pub source: Option<&'static str>,
    /// Every place looked in, for the not-configured message.
    pub looked_in: Vec<&'static str>,
}

/// Looks for the token, first found wins; empty values count as absent.
pub fn resolve(config: &Config, env: Option<String>) -> Found {
    let places: [(&'static str, Option<Secret>); 2] = [
        ("environment LITEFS_CLOUD_TOKEN", env.map(Secret::new)),
        ("config file", config.litefs.cloud_token.clone()),
    ];
    let looked_in = places.iter().map(|(name, _)| *name).collect();
    let found = places.into_iter().find(|(_, token)| {
        token
            .as_ref()
            .is_some_and(|t| !t.expose().trim().is_empty())
    });
    Found {
        source: found.as_ref().map(|(name, _)| *name),
        token: found.and_then(|(_, token)| token),
        looked_in,
    }
}

/// [`resolve`] with the process's environment.
pub fn from_process(config: &Config) -> Found {
    resolve(config, std::env::var(TOKEN_ENV).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config(text: &str) -> Config {
        Config::parse(text, Path::new("c.toml")).unwrap()
    }

    #[test]
    fn environment_wins_over_the_config_file() {
        let c = config("[litefs]\ncloud_token = \"from-file\"\n");
        let found = resolve(&c, Some("from-env".into()));
        assert_eq!(found.token.unwrap().expose(), "from-env");
        assert_eq!(found.source, Some("environment LITEFS_CLOUD_TOKEN"));
        let found = resolve(&c, Some("  ".into()));
        assert_eq!(found.token.unwrap().expose(), "from-file");
        assert_eq!(found.source, Some("config file"));
    }

    #[test]
    fn missing_everywhere_says_where_it_looked() {
        let found = resolve(&config(""), None);
        assert!(found.token.is_none() && found.source.is_none());
        assert_eq!(
            found.looked_in,
            ["environment LITEFS_CLOUD_TOKEN", "config file"]
        );
    }
}
