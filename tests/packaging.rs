//! The packaging files agree with the crate: the Homebrew formula and the app bundle's
//! Info.plist carry Cargo.toml's version, and the formula runs the app as a service.

use std::path::Path;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_formula_builds_with_cargo_and_runs_as_an_interactive_service() {
    let formula = read("Formula/voripos-domain-sync.rb");
    assert!(formula.contains(&format!("version \"{VERSION}\"")));
    assert!(formula.contains(&format!("tag: \"v{VERSION}\"")));
    assert!(formula.contains("depends_on \"rust\" => :build"));
    assert!(formula.contains("system \"cargo\", \"install\", *std_cargo_args"));
    let service = formula
        .split("service do")
        .nth(1)
        .and_then(|s| s.split("\n  end").next())
        .expect("a service block");
    for line in [
        "run [opt_bin/\"voripos-domain-sync\"]",
        "keep_alive true",
        "process_type :interactive",
        "log_path var/",
        "error_log_path var/",
    ] {
        assert!(service.contains(line), "no {line:?} in the service block");
    }
    let test = formula.split("test do").nth(1).expect("a test block");
    assert!(test.contains("--version") && test.contains("verify"));
}

#[test]
fn the_info_plist_is_an_agent_app_with_the_crate_version() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("bundle/Info.plist");
    let value = plist::Value::from_file(&path).unwrap();
    let d = value.as_dictionary().unwrap();
    let s = |k: &str| {
        d[k].as_string()
            .unwrap_or_else(|| panic!("{k} is not a string"))
    };
    assert_eq!(
        s("CFBundleIdentifier"),
        voripos_domain_sync::launch_agent::LABEL
    );
    assert_eq!(s("CFBundleName"), "VoriPOS Domain Sync");
    assert_eq!(s("CFBundleExecutable"), "voripos-domain-sync");
    assert_eq!(s("CFBundleShortVersionString"), VERSION);
    assert_eq!(s("CFBundleVersion"), VERSION);
    assert_eq!(d["LSUIElement"].as_boolean(), Some(true));
    assert!(d.contains_key("LSMinimumSystemVersion"));
}
