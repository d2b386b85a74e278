//! The packaging files agree with the crate: the Homebrew formula and the app bundle's
//! Info.plist carry Cargo.toml's version, the formula runs the app as a service and is
//! valid Ruby, the LaunchAgent template is what launch at login writes, every plist in
//! `bundle/` parses, and `bundle/build-app.sh` assembles the `.app`.

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
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "ruby is missing in CI: .ci/setup installs it"
            );
            eprintln!("SKIPPED: ruby is not installed (.ci/setup installs it)");
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
