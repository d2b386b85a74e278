//! The packaging files agree with the crate: the Homebrew formula, the app bundle's
//! Info.plist and `--version` carry Cargo.toml's version (above the fleet's 0.4.2), the
//! formula installs the signed release (Rust only for `--HEAD`), runs the app as a service
//! that a clean Quit stops, and is valid Ruby, the LaunchAgent template is what launch at login writes, every plist in
//! `bundle/` parses, and `bundle/build-app.sh` assembles the `.app`.

#[path = "common/skip.rs"]
mod skip;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use voripos_domain_sync::tray::launch_agent;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const APP: &str = "VoriPOS Domain Sync.app";

fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn read(relative: &str) -> String {
    let path = repo(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn output_text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The text of the formula's `name do … end` block (two-space indented `end`).
fn block<'a>(formula: &'a str, name: &str) -> &'a str {
    formula
        .split(&format!("\n  {name} do"))
        .nth(1)
        .and_then(|s| s.split("\n  end").next())
        .unwrap_or_else(|| panic!("no {name} block"))
}

#[test]
fn the_formula_installs_the_signed_universal_release_and_builds_only_head() {
    let formula = read("Formula/voripos-domain-sync.rb");
    let tarball = format!(
        "https://github.com/voriteam/voripos-domain-sync/releases/download/v{VERSION}/\
         voripos-domain-sync-{VERSION}-universal-apple-darwin.tar.gz"
    );
    assert!(
        formula.contains(&format!("  url \"{tarball}\"\n")),
        "{formula}"
    );
    assert!(formula.contains("homepage \"https://github.com/voriteam/voripos-domain-sync\""));
    for stale in ["vori-inc", "placeholder", "<tap"] {
        assert!(!formula.contains(stale), "{stale:?} in the formula");
    }
    // Rust only for a --HEAD build; the release is installed as it was signed.
    let head = block(&formula, "head");
    assert!(head.contains("depends_on \"rust\" => :build"), "{head}");
    let source = "url \"https://github.com/voriteam/voripos-domain-sync.git\", branch: \"main\"";
    assert!(head.contains(source), "{head}");
    assert_eq!(formula.matches("depends_on \"rust\"").count(), 1);
    assert!(formula.contains("prefix.install APP\n"));
    assert!(formula.contains("\"bundle/build-app.sh\""));
    // The release job fills the checksum in: exactly the marker it replaces.
    assert!(formula.contains("  sha256 \"@@SHA256_FILLED_BY_THE_RELEASE_JOB@@\"\n"));
    let workflow = read(".github/workflows/macos.yml");
    assert!(workflow.contains("@@SHA256_FILLED_BY_THE_RELEASE_JOB@@"));
}

#[test]
fn the_service_restarts_only_after_a_crash_and_logs_once() {
    let formula = read("Formula/voripos-domain-sync.rb");
    let service = block(&formula, "service");
    for line in [
        "run [opt_prefix/\"VoriPOS Domain Sync.app/Contents/MacOS/voripos-domain-sync\"]",
        "keep_alive crashed: true",
        "process_type :interactive",
        "error_log_path var/\"log/voripos-domain-sync.log\"",
    ] {
        assert!(service.contains(line), "no {line:?} in the service block");
    }
    // A clean Quit stays quit; stdout is not a second, never-rotated copy of the log.
    assert!(!service.contains("keep_alive true"), "{service}");
    assert!(!service.contains("\n    log_path"), "{service}");
    let test = block(&formula, "test");
    assert!(test.contains("--version") && test.contains("verify"));
}

/// `version` as the formula's release URL names it (`…/download/v<version>/…`).
fn formula_version(formula: &str) -> &str {
    formula
        .split("/releases/download/v")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .expect("a release URL")
}

#[test]
fn cargo_the_formula_the_bundle_and_version_agree_above_the_fleets_0_4_2() {
    let formula = read("Formula/voripos-domain-sync.rb");
    let info = plist::Value::from_file(repo("bundle/Info.plist")).unwrap();
    let info = info.as_dictionary().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_voripos-domain-sync"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", output_text(&output));
    let printed = String::from_utf8(output.stdout).unwrap();
    let versions = [
        ("Cargo.toml", VERSION.to_string()),
        ("the formula", formula_version(&formula).to_string()),
        (
            "CFBundleShortVersionString",
            info["CFBundleShortVersionString"]
                .as_string()
                .unwrap()
                .into(),
        ),
        (
            "CFBundleVersion",
            info["CFBundleVersion"].as_string().unwrap().into(),
        ),
        (
            "--version",
            printed.trim().rsplit(' ').next().unwrap_or_default().into(),
        ),
    ];
    for (what, version) in &versions {
        assert_eq!(
            version, VERSION,
            "{what} says {version}, Cargo.toml {VERSION}"
        );
    }
    let number = |v: &str| -> Vec<u64> { v.split('.').map(|n| n.parse().unwrap()).collect() };
    assert!(
        number(VERSION) > number("0.4.2"),
        "{VERSION} must upgrade the fleet's 0.4.2"
    );
}

#[test]
fn the_info_plist_is_an_agent_app_with_the_crate_version() {
    let value = plist::Value::from_file(repo("bundle/Info.plist")).unwrap();
    let d = value.as_dictionary().unwrap();
    let s = |k: &str| {
        d[k].as_string()
            .unwrap_or_else(|| panic!("{k} is not a string"))
    };
    assert_eq!(s("CFBundleIdentifier"), launch_agent::LABEL);
    assert_eq!(s("CFBundleName"), "VoriPOS Domain Sync");
    assert_eq!(s("CFBundleExecutable"), "voripos-domain-sync");
    assert_eq!(s("CFBundleShortVersionString"), VERSION);
    assert_eq!(s("CFBundleVersion"), VERSION);
    assert_eq!(d["LSUIElement"].as_boolean(), Some(true));
    assert!(d.contains_key("LSMinimumSystemVersion"));
}

#[test]
fn the_formula_is_valid_ruby() {
    let output = match Command::new("ruby")
        .arg("-c")
        .arg(repo("Formula/voripos-domain-sync.rb"))
        .output()
    {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            skip::skip("ruby is not installed (.ci/setup installs it)");
            return;
        }
        Err(e) => panic!("cannot run ruby: {e}"),
    };
    assert!(output.status.success(), "{}", output_text(&output));
}

#[test]
fn every_plist_in_the_bundle_folder_parses() {
    let mut parsed = Vec::new();
    for entry in std::fs::read_dir(repo("bundle")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "plist") {
            plist::Value::from_file(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .into_dictionary()
                .unwrap_or_else(|| panic!("{} is not a dictionary", path.display()));
            parsed.push(path);
        }
    }
    assert!(parsed.len() >= 2, "{parsed:?}");
}

#[test]
fn the_launch_agent_template_is_what_launch_at_login_writes() {
    let home = Path::new("/Users/store");
    let exe = Path::new("/Applications/VoriPOS Domain Sync.app/Contents/MacOS/voripos-domain-sync");
    let template = read(&format!("bundle/{}.plist", launch_agent::LABEL))
        .replace("__APP_EXECUTABLE__", exe.to_str().unwrap())
        .replace("__HOME__", home.to_str().unwrap());
    assert!(
        !template.contains("__"),
        "a placeholder is left: {template}"
    );
    let from_template = plist::Value::from_reader_xml(template.as_bytes()).unwrap();
    assert_eq!(from_template, launch_agent::agent(exe, home));
}

#[test]
fn the_app_icon_is_a_1024_pixel_png_of_reasonable_size() {
    let png = std::fs::read(repo("assets/AppIcon.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && &png[12..16] == b"IHDR");
    let dimension = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    assert_eq!((dimension(16), dimension(20)), (1024, 1024));
    assert!(png.len() < 100_000, "{} bytes", png.len());
}

#[test]
fn build_app_assembles_the_bundle_from_a_binary() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("voripos-domain-sync");
    std::fs::write(&binary, "#!/bin/sh\necho fake\n").unwrap();
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = dir.path().join("out");
    let output = Command::new("bash")
        .arg(repo("bundle/build-app.sh"))
        .arg(&binary)
        .arg(&out)
        .output()
        .unwrap();
    let text = output_text(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("assembled"), "{text}");

    let contents = out.join(APP).join("Contents");
    let executable = contents.join("MacOS/voripos-domain-sync");
    assert_eq!(
        std::fs::read(&executable).unwrap(),
        std::fs::read(&binary).unwrap()
    );
    let mode = std::fs::metadata(&executable).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0o111, "{mode:o}");
    assert_eq!(
        plist::Value::from_file(contents.join("Info.plist")).unwrap(),
        plist::Value::from_file(repo("bundle/Info.plist")).unwrap()
    );
    assert_eq!(
        std::fs::read(contents.join("PkgInfo")).unwrap(),
        b"APPL????"
    );
    let icon = contents.join("Resources/AppIcon.icns");
    if cfg!(target_os = "macos") {
        assert!(icon.is_file(), "{text}");
    } else {
        assert!(contents.join("Resources").is_dir());
        assert!(!icon.exists());
        assert!(text.contains("skipping AppIcon.icns"), "{text}");
    }

    // Running it again replaces the bundle.
    std::fs::write(contents.join("stale"), "").unwrap();
    let again = Command::new("bash")
        .arg(repo("bundle/build-app.sh"))
        .arg(&binary)
        .arg(&out)
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", output_text(&again));
    assert!(!contents.join("stale").exists());
}

#[test]
fn build_app_explains_a_missing_binary() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new("bash")
        .arg(repo("bundle/build-app.sh"))
        .arg(dir.path().join("nothing-here"))
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let text = output_text(&output);
    assert!(
        text.contains("no binary at") && text.contains("cargo build --release"),
        "{text}"
    );
    assert!(!dir.path().join(APP).exists());
}

#[test]
fn ci_runs_the_readme_tests_and_the_macos_check() {
    let run = read(".ci/run");
    let readme = read("README.md");
    let tests = "bash .ci/setup && bash .ci/test";
    assert!(
        readme.contains(tests) && run.contains(&format!("\n{tests}\n")),
        "{run}"
    );
    assert!(
        run.contains("../shared/tools/mac-check --clippy --all-targets --deny-warnings\n"),
        "{run}"
    );
    assert!(
        run.contains("set -euo pipefail"),
        "a failure stops CI: {run}"
    );
    // .ci/test runs the whole workspace with the caller's arguments, then counts the
    // skips, and its exit code is cargo's.
    let test = read(".ci/test");
    let cargo = test.find("\ncargo test --workspace --locked \"$@\"\ncode=$?\n");
    let counted = test.find("skipped-tests.txt -exec cat");
    assert!(cargo.is_some() && counted > cargo, "{test}");
    assert!(test.trim_end().ends_with("exit $code"), "{test}");
}

#[test]
fn the_pppc_profile_allows_the_app_into_other_apps_data() {
    let path = repo("bundle/VoriPOS-Domain-Sync-PPPC.mobileconfig");
    let profile = plist::Value::from_file(&path).unwrap();
    let profile = profile.as_dictionary().unwrap();
    assert_eq!(profile["PayloadType"].as_string(), Some("Configuration"));
    let payloads = profile["PayloadContent"].as_array().unwrap();
    assert_eq!(payloads.len(), 1);
    let payload = payloads[0].as_dictionary().unwrap();
    assert_eq!(
        payload["PayloadType"].as_string(),
        Some("com.apple.TCC.configuration-profile-policy")
    );
    let services = payload["Services"].as_dictionary().unwrap();
    let rules = services["SystemPolicyAppData"].as_array().unwrap();
    let rule = rules[0].as_dictionary().unwrap();
    assert_eq!(rule["Identifier"].as_string(), Some(launch_agent::LABEL));
    assert_eq!(rule["IdentifierType"].as_string(), Some("bundleID"));
    assert_eq!(rule["Authorization"].as_string(), Some("Allow"));
    // The release job puts the signed app's designated requirement in.
    let marker = "@@DESIGNATED_REQUIREMENT@@";
    assert_eq!(rule["CodeRequirement"].as_string(), Some(marker));
    let workflow = read(".github/workflows/macos.yml");
    assert!(workflow.contains("codesign -d -r-") && workflow.contains("DESIGNATED_REQUIREMENT"));
    let uuids: Vec<&str> = [profile, payload]
        .map(|d| d["PayloadUUID"].as_string().unwrap())
        .to_vec();
    assert_ne!(uuids[0], uuids[1]);
}
