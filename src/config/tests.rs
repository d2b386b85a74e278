//! The configuration's tests: parsing, checks, defaults, folders, through the public API.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

#[test]
fn empty_file_gives_the_documented_defaults() {
    let c = Config::parse("", Path::new("c.toml")).unwrap();
    assert_eq!(c.litefs.url, "http://127.0.0.1:20202");
    assert_eq!(c.litefs.database, "Domain.sqlite3");
    assert_eq!(c.publish.mode, PublishMode::Versioned);
    assert_eq!(c.publish.keep, 5);
    assert!(c.publish.quick_check);
    assert!(c.container.manage);
    assert_eq!(c.container.host_port, 20202);
    assert_eq!(c.status.stale_after, Duration::from_secs(1800));
    assert_eq!(c.publish.tables.len(), 9);
}

#[test]
fn keys_of_the_contract_parse() {
    let text = r#"
        [litefs]
        url = "http://127.0.0.1:3000"
        database = "Other.sqlite3"
        [publish]
        dir = "/tmp/x"
        mode = "single"
        keep = 3
        quick_check = false
        [container]
        manage = false
        [status]
        file = "/tmp/s.json"
        stale_after = "2h"
    "#;
    let c = Config::parse(text, Path::new("c.toml")).unwrap();
    assert_eq!(c.publish.mode, PublishMode::Single);
    assert_eq!(c.publish_dir(&dirs()), PathBuf::from("/tmp/x"));
    assert_eq!(c.status_file(&dirs()), PathBuf::from("/tmp/s.json"));
    assert_eq!(c.status.stale_after, Duration::from_secs(7200));
    assert!(!c.container.manage);
}

#[test]
fn the_cloud_source_keys_parse_and_are_checked() {
    let c = Config::parse("", Path::new("c.toml")).unwrap();
    assert_eq!(c.source.kind, SourceKind::Litefs);
    assert_eq!(c.cloud.poll_interval, Duration::from_secs(10));
    assert_eq!(c.cloud_url(), None);
    let text = r#"
        [litefs]
        cloud_endpoint = "http://127.0.0.1:9"
        [source]
        kind = "cloud"
        [cloud]
        cluster = "store-7"
        poll_interval = "250ms"
    "#;
    let c = Config::parse(text, Path::new("c.toml")).unwrap();
    assert_eq!(c.source.kind, SourceKind::Cloud);
    assert_eq!(c.cloud.cluster.as_deref(), Some("store-7"));
    assert_eq!(c.cloud.poll_interval, Duration::from_millis(250));
    assert_eq!(
        c.cloud_url(),
        Some("http://127.0.0.1:9"),
        "falls back on the endpoint"
    );
    let c = Config::parse(
        "[litefs]\ncloud_endpoint = \"http://a:1\"\n[cloud]\nurl = \"https://b\"\n",
        Path::new("c.toml"),
    )
    .unwrap();
    assert_eq!(c.cloud_url(), Some("https://b"));
    for bad in [
        "[cloud]\npoll_interval = \"10ms\"\n",
        "[cloud]\npoll_interval = \"2h\"\n",
        "[cloud]\nurl = \"ftp://x\"\n",
        "[cloud]\ncluster = \"\"\n",
        "[source]\nkind = \"docker\"\n",
    ] {
        let err = Config::parse(bad, Path::new("c.toml")).unwrap_err();
        assert!(err.to_string().contains("line "), "{bad}: {err}");
    }
}

#[test]
fn errors_name_the_file_line_and_key() {
    let text = "[publish]\nkeep = 5\nmode = \"sideways\"\n";
    let err = Config::parse(text, Path::new("/etc/vds.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("/etc/vds.toml"), "{err}");
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("sideways"), "{err}");
    let err = Config::parse("[publish]\nkepp = 5\n", Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("kepp") && err.contains("line 2"), "{err}");
}

#[test]
fn errors_on_the_token_line_do_not_show_the_token() {
    let err = Config::parse("[litefs]\ncloud_token = \"sekrit\n", Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 2, column"), "{err}");
    assert!(!err.contains("sekrit"), "{err}");
}

#[test]
fn keep_below_two_is_refused() {
    let err = Config::parse("[publish]\nkeep = 1\n", Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("at least 2"), "{err}");
}

#[test]
fn the_token_is_never_serialized() {
    let c = Config::parse(
        "[litefs]\ncloud_token = \"sekrit-123\"\n",
        Path::new("c.toml"),
    )
    .unwrap();
    assert_eq!(
        c.litefs.cloud_token.as_ref().map(Secret::expose),
        Some("sekrit-123")
    );
    assert!(!toml::to_string(&c).unwrap().contains("sekrit"));
    assert!(!format!("{c:?}").contains("sekrit"));
}

#[test]
fn telemetry_is_on_by_default_and_can_be_turned_off() {
    let c = Config::parse("", Path::new("c.toml")).unwrap();
    assert!(c.telemetry.enabled);
    assert_eq!(c.telemetry.otlp_endpoint, None);
    assert_eq!(c.telemetry.metrics_interval, Duration::from_secs(60));
    let c = Config::parse(
        "[telemetry]\nmetrics_interval = \"250ms\"\n",
        Path::new("c.toml"),
    )
    .unwrap();
    assert_eq!(c.telemetry.metrics_interval, Duration::from_millis(250));
    refuses("telemetry", "metrics_interval", "\"0s\"", "more than 0s");
    refuses("telemetry", "metrics_interval", "\"25h\"", "at most 1day");
    let text = "[telemetry]\nenabled = false\notlp_endpoint = \"http://10.0.0.2:4318\"\n";
    let c = Config::parse(text, Path::new("c.toml")).unwrap();
    assert!(!c.telemetry.enabled);
    assert_eq!(
        c.telemetry.otlp_endpoint.as_deref(),
        Some("http://10.0.0.2:4318")
    );
    let err = Config::parse("[telemetry]\nendpoint = \"x\"\n", Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("endpoint") && err.contains("line 2"), "{err}");
}

/// The error for `text`, which must be refused.
fn refused(text: &str) -> String {
    match Config::parse(text, Path::new("/etc/vds.toml")) {
        Ok(c) => panic!("accepted:\n{text}\n{c:?}"),
        Err(e) => e.to_string(),
    }
}

/// `[section] key = value` on line 2 is refused, naming the file, line, key and `why`.
fn refuses(section: &str, key: &str, value: &str, why: &str) {
    let err = refused(&format!("[{section}]\n{key} = {value}\n"));
    for part in ["/etc/vds.toml", "line 2", &format!("{section}.{key}"), why] {
        assert!(
            err.contains(part),
            "{section}.{key} = {value}: {part:?} not in {err}"
        );
    }
}

#[test]
fn durations_that_would_crash_are_refused() {
    for key in [
        "safety_check",
        "stall_timeout",
        "connect_timeout",
        "max_backoff",
    ] {
        refuses("sync", key, "\"0s\"", "more than 0s");
    }
    for key in [
        "min_interval",
        "safety_check",
        "stall_timeout",
        "connect_timeout",
        "max_backoff",
        "event_grace",
    ] {
        refuses("sync", key, "\"500000000years\"", "at most 1day");
        refuses("sync", key, "\"25h\"", "at most 1day");
    }
    refuses("status", "stale_after", "\"0s\"", "more than 0s");
    refuses("status", "stale_after", "\"366days\"", "at most 365days");
    refuses(
        "notifications",
        "after",
        "\"500000000years\"",
        "at most 365days",
    );
    refuses("sync", "safety_check", "\"soon\"", "safety_check");
}

#[test]
fn durations_within_the_bounds_are_accepted() {
    let text = "[sync]\nmin_interval = \"0s\"\nevent_grace = \"0s\"\nsafety_check = \"1day\"\n\
                [status]\nstale_after = \"365days\"\n[notifications]\nafter = \"0s\"\n";
    let c = Config::parse(text, Path::new("c.toml")).unwrap();
    assert_eq!(c.sync.min_interval, Duration::ZERO);
    assert_eq!(c.sync.safety_check, Duration::from_secs(86_400));
    assert_eq!(c.status.stale_after, Duration::from_secs(365 * 86_400));
}

#[test]
fn urls_must_be_plain_http_base_urls() {
    for (section, key) in [
        ("litefs", "url"),
        ("litefs", "cloud_endpoint"),
        ("telemetry", "otlp_endpoint"),
    ] {
        refuses(section, key, "\"http://\"", "not a URL");
        refuses(section, key, "\"localhost:20202\"", "http or https");
        refuses(section, key, "\"ftp://host\"", "http or https");
        refuses(section, key, "\"http://host:1/?a=b\"", "query");
        refuses(section, key, "\"http://host:1/#top\"", "fragment");
        refuses(
            section,
            key,
            "\"http://user:pw@host:1\"",
            "user name or password",
        );
        let text = format!("[{section}]\n{key} = \"https://host.example:8443/base\"\n");
        Config::parse(&text, Path::new("c.toml")).unwrap();
    }
}

#[test]
fn names_ports_and_counts_are_checked() {
    refuses("container", "host_port", "0", "not 0");
    refuses("publish", "keep", "1", "at least 2 and at most 10000");
    refuses("publish", "keep", "10001", "at most 10000");
    for name in ["\"\"", "\".hidden\"", "\"a/b\"", "'a\\b'", "\"a\\u0000b\""] {
        refuses("litefs", "database", name, "plain file name");
    }
    refuses("status", "file", "\"\"", "not be empty");
    refuses("publish", "dir", "\"\"", "not be empty");
    refuses("container", "image", "\"\"", "not be empty");
    refuses(
        "publish",
        "tables",
        "[\"products\", \"x; drop\"]",
        "SQL identifier",
    );
    refuses("publish", "tables", "[\"\"]", "SQL identifier");
    for name in ["\"\"", "\"-x\"", "\"a b\"", "\"a/b\""] {
        refuses("container", "name", name, "container name");
    }
    let text = "[container]\nname = \"litefs_2.dev-x\"\nhost_port = 1\n\
                [publish]\nkeep = 10000\ntables = [\"_t1\", \"Products\"]\n";
    Config::parse(text, Path::new("c.toml")).unwrap();
}

/// Config files that are refused, each holding `token` where a parser error could
/// quote it: an inline table, a multi-line string, a quoted key with escapes, and the
/// token (properly set) pasted into another key.
fn files_holding(token: &str) -> [String; 4] {
    [
        format!("litefs = {{ cloud_token = \"{token}\", url = 5 }}\n"),
        format!("[litefs]\ncloud_token = \"\"\"\n{token} \\q\n\"\"\"\n"),
        format!("[litefs]\n\"cloud_\\u0074oken\" = \"{token}\" x\n"),
        format!("[litefs]\ncloud_token = \"{token}\"\n[container]\nhost_port = \"{token}\"\n"),
    ]
}

#[test]
fn no_config_error_quotes_the_token() {
    let token = "tok-1nline-secret-7";
    let places = [
        "line 1, column 55, key litefs.url",
        "line 3",
        "line 2",
        "line 4, column 13, key container.host_port",
    ];
    for (text, place) in files_holding(token).iter().zip(places) {
        let err = refused(text);
        assert!(!err.contains("1nline"), "{err}");
        assert!(err.contains(place), "{place:?} not in {err}");
    }
}

fn dirs() -> AppDirs {
    AppDirs {
        home: Some(PathBuf::from("/Users/pos")),
        config: PathBuf::from("/cfg"),
        data: PathBuf::from("/data"),
    }
}

#[test]
fn home_is_expanded() {
    let home = Some(Path::new("/Users/pos"));
    let p = expand_home(Path::new("~/Library/x"), home);
    assert_eq!(p, PathBuf::from("/Users/pos/Library/x"));
    assert_eq!(expand_home(Path::new("~/x"), None), PathBuf::from("~/x"));
    assert_eq!(
        expand_home(Path::new("/abs/x"), home),
        PathBuf::from("/abs/x")
    );
    let c = Config::parse("", Path::new("c.toml")).unwrap();
    assert_eq!(c.status_file(&dirs()), PathBuf::from("/data/status.json"));
}

#[test]
fn the_default_folder_is_the_one_the_pos_on_this_mac_reads() {
    let home = tempfile::tempdir().unwrap();
    let dirs = AppDirs {
        home: Some(home.path().to_path_buf()),
        ..dirs()
    };
    let c = Config::parse("", Path::new("c.toml")).unwrap();
    let folder = c.publish_folder(&dirs);
    assert_eq!(
        folder.path,
        home.path()
            .join("Library/Application Support/VoriPOS/Domain")
    );
    assert!(
        folder.reason.contains("no VoriPOS sandbox container"),
        "{folder:?}"
    );
    std::fs::create_dir_all(home.path().join("Library/Containers/com.vori.VoriPOS")).unwrap();
    let folder = c.publish_folder(&dirs);
    assert_eq!(
        folder.path,
        home.path()
            .join("Library/Containers/com.vori.VoriPOS/Data/Library/Application Support/Domain")
    );
    assert!(folder.reason.contains("sandbox container"), "{folder:?}");
    // An explicit setting always wins, and says where it was set.
    let c = Config::parse("[publish]\ndir = \"~/pos\"\n", Path::new("c.toml")).unwrap();
    let folder = c.publish_folder(&dirs);
    assert_eq!(folder.path, home.path().join("pos"));
    assert_eq!(folder.reason, "publish.dir, set in the config file");
    let mut c = c;
    c.managed
        .keys
        .insert("publish.dir".into(), PathBuf::from("/L/p.plist"));
    assert_eq!(
        c.publish_folder(&dirs).reason,
        "publish.dir, managed by your organization (/L/p.plist)"
    );
}

#[test]
fn the_config_file_is_the_flag_then_the_environment_then_the_default() {
    let (flag, env) = (Path::new("/flag.toml"), Path::new("/env.toml"));
    assert_eq!(
        config_path(Some(flag), Some(env), &dirs()),
        (flag.into(), true)
    );
    assert_eq!(config_path(None, Some(env), &dirs()), (env.into(), true));
    assert_eq!(
        config_path(None, None, &dirs()),
        (PathBuf::from("/cfg/config.toml"), false)
    );
}
