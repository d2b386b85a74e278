//! The packaging files agree with the crate and with what Homebrew and launchd do with
//! them: the formula, the app bundle's Info.plist and `--version` carry Cargo.toml's
//! version (above the fleet's 0.4.2); the real release tarball
//! (`bundle/release-tarball.sh` on this build) gives Homebrew's `install` what the formula
//! installs, once Homebrew has changed into its one top-level folder; the release formula
//! (`bundle/release-formula.sh`) names it by its checksum; the service and the app's
//! LaunchAgent restart after an error exit and a Quit stays quit; 0.4.2's service path runs
//! the new app; a notarization Apple rejects fails the release; the workflow runs on
//! images GitHub has; every plist in `bundle/` parses and `bundle/build-app.sh` assembles
//! the `.app`. Only a Mac with the real Homebrew runs `brew install`, `brew style` and
//! launchd itself (README, "Releasing").

#[path = "common/skip.rs"]
mod skip;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::Digest;

use voripos_domain_sync::login::launch_agent;

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
fn the_checked_in_formula_builds_the_tag_from_source_as_brew_style_wants() {
    let formula = read("Formula/voripos-domain-sync.rb");
    assert!(formula.contains("homepage \"https://github.com/voriteam/voripos-domain-sync\""));
    for stale in ["vori-inc", "placeholder", "<tap", "@@", "crashed: true"] {
        assert!(!formula.contains(stale), "{stale:?} in the formula");
    }
    // No checksum to fill in: the stable source is the tag, fetched with git.
    let stable = block(&formula, "stable");
    let tag =
        format!("url \"https://github.com/voriteam/voripos-domain-sync.git\", tag: \"v{VERSION}\"");
    assert!(stable.contains(&tag), "{stable}");
    assert!(!formula.contains("\n  sha256 "), "{formula}");
    // brew style's component order: license, then the stable block, then head.
    let at = |what: &str| formula.find(what).unwrap_or_else(|| panic!("no {what:?}"));
    assert!(at("\n  license ") < at("\n  stable do\n"));
    assert!(at("\n  stable do\n") < at("\n  head do\n"));
    let head = block(&formula, "head");
    let source = "url \"https://github.com/voriteam/voripos-domain-sync.git\", branch: \"main\"";
    assert!(head.contains(source), "{head}");
    for source_build in [stable, head] {
        assert!(source_build.contains("depends_on \"rust\" => :build"));
    }
    // brew style: `cargo install *std_cargo_args`, never a bare `cargo build`.
    assert!(formula.contains("system \"cargo\", \"install\", *std_cargo_args\n"));
    assert!(!formula.contains("\"cargo\", \"build\""));
    assert!(formula.contains("\"bundle/build-app.sh\""));
    // `license "MIT"` is true: the repository has the license, the crate says the same.
    assert!(formula.contains("\n  license \"MIT\"\n"));
    let license = read("LICENSE");
    assert!(
        license.starts_with("MIT License\n") && license.contains("Copyright (c) 2026 Vori\n"),
        "{license}"
    );
    assert!(read("Cargo.toml").contains("\nlicense = \"MIT\"\n"));
}

/// The release tarball `bundle/release-tarball.sh` makes from `binary`, in `out`.
fn release_tarball(binary: &Path, out: &Path, env: &[(&str, &Path)]) -> PathBuf {
    let output = Command::new("bash")
        .arg(repo("bundle/release-tarball.sh"))
        .arg(binary)
        .arg(out)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", output_text(&output));
    let printed = String::from_utf8(output.stdout).unwrap();
    let path = PathBuf::from(printed.trim());
    assert_eq!(
        path.file_name().unwrap().to_string_lossy(),
        format!("voripos-domain-sync-{VERSION}-universal-apple-darwin.tar.gz"),
        "it prints the tarball's path and nothing else: {printed:?}"
    );
    assert!(path.is_file(), "{}", path.display());
    path
}

/// The release tarball of this build's binary, made once for the tests that read it.
fn this_builds_tarball() -> &'static Path {
    static TARBALL: std::sync::OnceLock<(tempfile::TempDir, PathBuf)> = std::sync::OnceLock::new();
    let (_, path) = TARBALL.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let binary = Path::new(env!("CARGO_BIN_EXE_voripos-domain-sync"));
        let path = release_tarball(binary, &dir.path().join("dist"), &[]);
        (dir, path)
    });
    path
}

/// An executable shell script standing in for the binary, in `dir`.
fn fake_binary(dir: &Path) -> PathBuf {
    let binary = dir.join("voripos-domain-sync");
    std::fs::write(&binary, "#!/bin/sh\necho fake\n").unwrap();
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
    binary
}

fn untar(tarball: &Path, into: &Path) {
    std::fs::create_dir_all(into).unwrap();
    let output = Command::new("tar")
        .arg("-xzf")
        .arg(tarball)
        .arg("-C")
        .arg(into)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", output_text(&output));
}

/// Where Homebrew runs `install` in an unpacked tarball: inside its one top-level entry
/// when that is the only one (dot files aside) and a folder (an `.app` is a folder too),
/// else where it was unpacked.
fn homebrew_install_dir(unpacked: &Path) -> PathBuf {
    let entries: Vec<PathBuf> = std::fs::read_dir(unpacked)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    match entries.as_slice() {
        [only] if only.is_dir() => only.clone(),
        _ => unpacked.to_path_buf(),
    }
}

/// What the formula's `install` takes from a release tarball: `(destination, source)`
/// for each `prefix.install` / `bin.install` of the branch for a tarball without
/// Cargo.toml.
fn release_installs(formula: &str) -> Vec<(String, String)> {
    let install = formula
        .split("\n  def install\n")
        .nth(1)
        .and_then(|s| s.split("\n  end\n").next())
        .expect("def install");
    let release = install
        .split("\n    else\n")
        .nth(1)
        .and_then(|s| s.split("\n    end\n").next())
        .expect("the release branch of install");
    release
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let (to, what) = line.split_once(".install ")?;
            let what = match what {
                "APP" => APP.to_string(),
                quoted => quoted.trim_matches('"').to_string(),
            };
            Some((to.to_string(), what))
        })
        .collect()
}

/// Runs `program` with `args` and returns its stdout (it must succeed).
fn run_ok(program: &Path, args: &[&str]) -> String {
    let output = Command::new(program).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{}: {}",
        program.display(),
        output_text(&output)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_release_tarball_gives_homebrews_install_what_the_formula_installs() {
    let dir = tempfile::tempdir().unwrap();
    let binary = Path::new(env!("CARGO_BIN_EXE_voripos-domain-sync"));
    let unpacked = dir.path().join("unpacked");
    untar(this_builds_tarball(), &unpacked);
    let install_dir = homebrew_install_dir(&unpacked);
    assert_eq!(
        install_dir,
        unpacked.join(format!("voripos-domain-sync-{VERSION}"))
    );

    // Everything the release branch of `install` names is there, and nothing else.
    let formula = read("Formula/voripos-domain-sync.rb");
    let installs = release_installs(&formula);
    assert_eq!(
        installs,
        [
            ("prefix".to_string(), APP.to_string()),
            ("bin".to_string(), "voripos-domain-sync.sh".to_string())
        ]
    );
    let mut found: Vec<String> = std::fs::read_dir(&install_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    found.sort();
    assert_eq!(found, ["LICENSE", APP, "voripos-domain-sync.sh"]);
    let app = install_dir.join(APP).join("Contents");
    assert_eq!(
        std::fs::read(app.join("MacOS/voripos-domain-sync")).unwrap(),
        std::fs::read(binary).unwrap()
    );
    assert_eq!(
        plist::Value::from_file(app.join("Info.plist")).unwrap(),
        plist::Value::from_file(repo("bundle/Info.plist")).unwrap()
    );

    // Installed as Homebrew lays it out: a keg, the opt link, and `bin` links.
    let brew = dir.path().join("homebrew");
    let keg = brew.join(format!("Cellar/voripos-domain-sync/{VERSION}"));
    std::fs::create_dir_all(keg.join("bin")).unwrap();
    for (to, what) in &installs {
        let into = if to == "prefix" {
            keg.clone()
        } else {
            keg.join("bin")
        };
        std::fs::rename(install_dir.join(what), into.join(what)).unwrap();
    }
    std::os::unix::fs::symlink(
        keg.join(APP).join("Contents/MacOS/voripos-domain-sync"),
        keg.join("bin/voripos-domain-sync"),
    )
    .unwrap();
    std::fs::create_dir_all(brew.join("opt")).unwrap();
    std::os::unix::fs::symlink(&keg, brew.join("opt/voripos-domain-sync")).unwrap();
    std::fs::create_dir_all(brew.join("bin")).unwrap();
    std::os::unix::fs::symlink(
        keg.join("bin/voripos-domain-sync.sh"),
        brew.join("bin/voripos-domain-sync.sh"),
    )
    .unwrap();

    // The formula's `test do`: --version through both names; 0.4.2's service ran the
    // entry point by its opt path, so after `brew upgrade` that path runs the new app.
    let opt = brew.join("opt/voripos-domain-sync");
    for program in [
        opt.join("bin/voripos-domain-sync"),
        opt.join("bin/voripos-domain-sync.sh"),
        brew.join("bin/voripos-domain-sync.sh"),
    ] {
        let printed = run_ok(&program, &["--version"]);
        assert!(printed.trim().ends_with(VERSION), "{printed}");
    }
    let mode = std::fs::metadata(opt.join("bin/voripos-domain-sync.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755, "{mode:o}");
}

#[test]
fn homebrew_would_cd_into_a_tarball_that_holds_only_the_app() {
    // What 0.5.0's first workflow packed (`tar -C out -czf … "$APP"`): Homebrew ran
    // `install` inside the .app, where `prefix.install APP` finds nothing.
    let dir = tempfile::tempdir().unwrap();
    let binary = fake_binary(dir.path());
    let out = dir.path().join("out");
    let built = Command::new("bash")
        .arg(repo("bundle/build-app.sh"))
        .arg(&binary)
        .arg(&out)
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", output_text(&built));
    let tarball = dir.path().join("app-only.tar.gz");
    let packed = Command::new("tar")
        .arg("-C")
        .arg(&out)
        .arg("-czf")
        .arg(&tarball)
        .arg(APP)
        .output()
        .unwrap();
    assert!(packed.status.success(), "{}", output_text(&packed));
    let unpacked = dir.path().join("unpacked");
    untar(&tarball, &unpacked);
    let install_dir = homebrew_install_dir(&unpacked);
    assert_eq!(install_dir, unpacked.join(APP));
    assert!(!install_dir.join(APP).exists());
}

#[test]
fn the_release_formula_installs_the_tarball_by_its_checksum_without_rust() {
    let dir = tempfile::tempdir().unwrap();
    let tarball = this_builds_tarball();
    let output = Command::new("bash")
        .arg(repo("bundle/release-formula.sh"))
        .arg(tarball)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", output_text(&output));
    let formula = String::from_utf8(output.stdout).unwrap();

    let url = format!(
        "https://github.com/voriteam/voripos-domain-sync/releases/download/v{VERSION}/\
         voripos-domain-sync-{VERSION}-universal-apple-darwin.tar.gz"
    );
    let sha = sha2::Sha256::digest(std::fs::read(tarball).unwrap());
    let sha: String = sha.iter().map(|b| format!("{b:02x}")).collect();
    assert!(
        formula.contains(&format!("\n  url \"{url}\"\n  sha256 \"{sha}\"\n")),
        "{formula}"
    );
    assert_eq!(formula_version(&formula), VERSION);
    // brew style's component order (homepage, url, sha256, license, head), no empty lines
    // left where the stable block was.
    let at = |what: &str| formula.find(what).unwrap_or_else(|| panic!("no {what:?}"));
    let head = "\n  homepage \"https://github.com/voriteam/voripos-domain-sync\"\n  url ";
    assert!(
        at(head) < at("\n  sha256 ") && at("\n  sha256 ") < at("\n  license \"MIT\"\n"),
        "{formula}"
    );
    assert!(at("\n  license ") < at("\n  head do\n"));
    assert!(!formula.contains("\n\n\n"), "{formula}");
    // Rust only for --HEAD; the release is installed as it was signed.
    assert!(!formula.contains("\n  stable do\n") && !formula.contains("tag: \""));
    assert_eq!(formula.matches("depends_on \"rust\"").count(), 1);
    assert!(block(&formula, "head").contains("depends_on \"rust\" => :build"));
    // Everything else is the checked-in formula's.
    let checked_in = read("Formula/voripos-domain-sync.rb");
    assert_eq!(block(&formula, "service"), block(&checked_in, "service"));
    assert!(formula.contains(checked_in.split("\n  def install\n").nth(1).unwrap()));
    ruby_check(&formula);

    // A tarball of another version is refused.
    let other = dir
        .path()
        .join("voripos-domain-sync-0.0.1-universal-apple-darwin.tar.gz");
    std::fs::copy(tarball, &other).unwrap();
    let refused = Command::new("bash")
        .arg(repo("bundle/release-formula.sh"))
        .arg(&other)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(output_text(&refused).contains("not the tarball of version"));
}

/// `ruby -c` on `source` (a missing ruby skips, and fails in CI).
fn ruby_check(source: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("formula.rb");
    std::fs::write(&path, source).unwrap();
    let output = match Command::new("ruby").arg("-c").arg(&path).output() {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            skip::skip("ruby is not installed (.ci/setup installs it)");
            return;
        }
        Err(e) => panic!("cannot run ruby: {e}"),
    };
    assert!(output.status.success(), "{}", output_text(&output));
}

/// The `KeepAlive` launchd gets from a formula's `keep_alive` (Homebrew 5's
/// `Homebrew::Service`): `true` stays true, `crashed: true` is `{Crashed: true}` (signals
/// only), `successful_exit: false` is `{SuccessfulExit: false}`.
fn homebrew_keep_alive(service: &str) -> plist::Value {
    let line = service
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("keep_alive "))
        .expect("a keep_alive line");
    let mut d = plist::Dictionary::new();
    match line {
        "true" => return plist::Value::Boolean(true),
        "crashed: true" => d.insert("Crashed".into(), true.into()),
        "successful_exit: false" => d.insert("SuccessfulExit".into(), false.into()),
        other => panic!("keep_alive {other} is not one this test knows"),
    };
    plist::Value::Dictionary(d)
}

#[test]
fn the_service_and_the_apps_agent_restart_after_an_error_exit_and_quit_stays_quit() {
    let formula = read("Formula/voripos-domain-sync.rb");
    let service = block(&formula, "service");
    for line in [
        "run [opt_prefix/\"VoriPOS Domain Sync.app/Contents/MacOS/voripos-domain-sync\"]",
        "keep_alive successful_exit: false",
        "process_type :interactive",
        "error_log_path var/\"log/voripos-domain-sync.log\"",
    ] {
        assert!(service.contains(line), "no {line:?} in the service block");
    }
    // stdout is not a second, never-rotated copy of the log.
    assert!(!service.contains("\n    log_path"), "{service}");

    // A panic exits 101 and an error 1: both are restarted by either way of starting it.
    // Quit exits 0 (tests/ipc.rs: the instance "stopped cleanly"), so it stays quit.
    let mut restart_on_failure = plist::Dictionary::new();
    restart_on_failure.insert("SuccessfulExit".into(), false.into());
    let restart_on_failure = plist::Value::Dictionary(restart_on_failure);
    assert_eq!(homebrew_keep_alive(service), restart_on_failure);
    let agent = launch_agent::agent(Path::new("/x"), Path::new("/Users/store"));
    assert_eq!(
        agent.as_dictionary().unwrap()["KeepAlive"],
        restart_on_failure
    );

    let test = block(&formula, "test");
    assert!(test.contains("--version") && test.contains("verify"));
    assert!(test.contains("voripos-domain-sync.sh --version"));
}

#[test]
fn the_apps_launch_agent_plist_is_pinned() {
    let exe = Path::new("/opt/homebrew/opt/voripos-domain-sync/VoriPOS Domain Sync.app/Contents/MacOS/voripos-domain-sync");
    let mut xml = Vec::new();
    launch_agent::agent(exe, Path::new("/Users/store"))
        .to_writer_xml(&mut xml)
        .unwrap();
    let expected = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>com.vori.VoriPOS.DomainSync</string>
	<key>ProgramArguments</key>
	<array>
		<string>/opt/homebrew/opt/voripos-domain-sync/VoriPOS Domain Sync.app/Contents/MacOS/voripos-domain-sync</string>
	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>KeepAlive</key>
	<dict>
		<key>SuccessfulExit</key>
		<false/>
	</dict>
	<key>ProcessType</key>
	<string>Interactive</string>
	<key>StandardOutPath</key>
	<string>/Users/store/Library/Logs/VoriPOS Domain Sync/launchd.log</string>
	<key>StandardErrorPath</key>
	<string>/Users/store/Library/Logs/VoriPOS Domain Sync/launchd.log</string>
</dict>
</plist>"#;
    assert_eq!(String::from_utf8(xml).unwrap(), expected);
}

/// The version the checked-in formula's stable tag names (`tag: "v<version>"`).
fn formula_tag(formula: &str) -> &str {
    formula
        .split("tag: \"v")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a stable tag")
}

/// `version` as the release formula's URL names it (`…/download/v<version>/…`).
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
        ("the formula's tag", formula_tag(&formula).to_string()),
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
    ruby_check(&read("Formula/voripos-domain-sync.rb"));
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

/// A Homebrew keg with `bundle/voripos-domain-sync.sh` in `bin` and, in the `.app`, a
/// stand-in app that records its pid in `pid`, exits with `$FAKE_EXIT` and on SIGTERM
/// writes `stopped` and exits 0; returns 0.4.2's service path to the entry point
/// (`opt/voripos-domain-sync/bin/voripos-domain-sync.sh`).
fn keg_with_stand_in_app(root: &Path) -> PathBuf {
    let keg = root.join("Cellar/voripos-domain-sync/0.5.0");
    let macos = keg.join(APP).join("Contents/MacOS");
    std::fs::create_dir_all(&macos).unwrap();
    std::fs::create_dir_all(keg.join("bin")).unwrap();
    let app = macos.join("voripos-domain-sync");
    let record = root.display();
    std::fs::write(
        &app,
        format!(
            "#!/bin/bash\ntrap 'echo > \"{record}/stopped\"; exit 0' TERM\n\
             echo $$ > \"{record}/pid.tmp\" && mv \"{record}/pid.tmp\" \"{record}/pid\"\n\
             [ -n \"${{FAKE_EXIT:-}}\" ] && exit \"$FAKE_EXIT\"\n\
             while :; do sleep 0.05; done\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&app, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::copy(
        repo("bundle/voripos-domain-sync.sh"),
        keg.join("bin/voripos-domain-sync.sh"),
    )
    .unwrap();
    std::fs::create_dir_all(root.join("opt")).unwrap();
    std::os::unix::fs::symlink(&keg, root.join("opt/voripos-domain-sync")).unwrap();
    root.join("opt/voripos-domain-sync/bin/voripos-domain-sync.sh")
}

/// Waits until `check` says yes (state, not time: the stand-in's files and processes).
fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !check() {
        assert!(std::time::Instant::now() < deadline, "{what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn stand_in_pid(root: &Path) -> i32 {
    let path = root.join("pid");
    wait_for("the stand-in app to start", || path.exists());
    std::fs::read_to_string(&path)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn gone(pid: i32) -> bool {
    !Command::new("kill")
        .args(["-0", &pid.to_string()])
        .status()
        .unwrap()
        .success()
}

fn terminate(pid: u32) {
    let sent = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

#[test]
fn the_0_4_2_entry_point_passes_a_crash_on_to_launchd() {
    let dir = tempfile::tempdir().unwrap();
    let entry = keg_with_stand_in_app(dir.path());
    let status = Command::new(&entry)
        .env("FAKE_EXIT", "101")
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(101), "a panic's exit reaches launchd");
    assert!(dir.path().join("pid").exists(), "the app ran");
}

#[test]
fn the_0_4_2_entry_point_keeps_a_quit_app_quit_under_keep_alive_true() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let entry = keg_with_stand_in_app(dir.path());
    let mut service = Command::new(&entry).env("FAKE_EXIT", "0").spawn().unwrap();
    let app = stand_in_pid(dir.path());
    wait_for("the app to quit", || gone(app));
    // 0.4.2's plist has KeepAlive true: had the job exited, launchd would start the app
    // again at once. It waits instead, until launchd stops the job (logout, brew services).
    terminate(service.id());
    let status = service.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(15),
        "still waiting when stopped, not exited by itself: {status:?}"
    );
}

#[test]
fn the_0_4_2_entry_point_passes_launchds_stop_on_to_the_app() {
    let dir = tempfile::tempdir().unwrap();
    let entry = keg_with_stand_in_app(dir.path());
    let mut service = Command::new(&entry).spawn().unwrap();
    let app = stand_in_pid(dir.path());
    terminate(service.id());
    let status = service.wait().unwrap();
    assert!(dir.path().join("stopped").exists(), "the app got SIGTERM");
    assert!(gone(app));
    assert!(status.code().is_some(), "it exits, not waits: {status:?}");
}

/// Stand-ins for Apple's tools on `PATH`: each records its arguments in `calls`;
/// `xcrun notarytool submit` answers with `$NOTARY_STATUS` and `notarytool log` with a
/// line of Apple's log.
fn fake_apple_tools(root: &Path) -> PathBuf {
    let bin = root.join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let calls = root.join("calls");
    for tool in ["codesign", "ditto", "spctl", "xcrun"] {
        let body = match tool {
            "xcrun" => "case \"$1 $2\" in\n\
                 'notarytool submit') echo \"{\\\"id\\\":\\\"2efe2717-52ef\\\",\\\"message\\\":\\\"Processing complete\\\",\\\"status\\\":\\\"$NOTARY_STATUS\\\"}\" ;;\n\
                 'notarytool log') echo 'The binary is not signed with a valid Developer ID certificate.' ;;\n\
                 esac\n",
            "ditto" => "touch \"${@: -1}\"\n",
            _ => "",
        };
        let path = bin.join(tool);
        std::fs::write(
            &path,
            format!(
                "#!/bin/bash\necho \"{tool} $*\" >> \"{}\"\n{body}",
                calls.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

/// Runs `bundle/sign-app.sh` on an empty `.app` with the fake tools, as a release
/// (Developer ID and notary credentials set); returns its output and the tools' calls.
fn sign_release(notary_status: &str) -> (std::process::Output, String) {
    let dir = tempfile::tempdir().unwrap();
    let bin = fake_apple_tools(dir.path());
    let app = dir.path().join(APP);
    std::fs::create_dir_all(&app).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let output = Command::new("bash")
        .arg(repo("bundle/sign-app.sh"))
        .arg(&app)
        .env("PATH", path)
        .env("NOTARY_STATUS", notary_status)
        .env(
            "MACOS_SIGNING_IDENTITY",
            "Developer ID Application: Vori (TEAM123456)",
        )
        .env("APPLE_ID", "ci@vori.example")
        .env("APPLE_TEAM_ID", "TEAM123456")
        .env("APPLE_APP_PASSWORD", "app-password")
        .output()
        .unwrap();
    let calls = std::fs::read_to_string(dir.path().join("calls")).unwrap_or_default();
    (output, calls)
}

#[test]
fn a_notarization_apple_rejects_fails_the_release_with_apples_log() {
    let (output, calls) = sign_release("Invalid");
    let text = output_text(&output);
    assert!(!output.status.success(), "{text}");
    assert!(text.contains("notarization ended Invalid"), "{text}");
    assert!(
        text.contains("not signed with a valid Developer ID"),
        "{text}"
    );
    assert!(
        calls.contains("xcrun notarytool log 2efe2717-52ef"),
        "{calls}"
    );
    assert!(!calls.contains("stapler"), "nothing stapled: {calls}");
}

#[test]
fn an_accepted_notarization_is_stapled_and_assessed() {
    let (output, calls) = sign_release("Accepted");
    assert!(output.status.success(), "{}", output_text(&output));
    let order: Vec<&str> = calls
        .lines()
        .map(|l| l.split(' ').take(3).collect::<Vec<_>>().join(" "))
        .map(|l| match l.as_str() {
            l if l.starts_with("codesign --force") => "sign",
            l if l.starts_with("xcrun notarytool submit") => "notarize",
            l if l.starts_with("xcrun stapler staple") => "staple",
            l if l.starts_with("spctl") => "assess",
            _ => "",
        })
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(order, ["sign", "notarize", "staple", "assess"], "{calls}");
    assert!(calls.contains("--options runtime --timestamp"), "{calls}");
    assert!(calls.contains("--wait") && calls.contains("--output-format json"));
}

#[test]
fn the_tarball_holds_the_app_as_sign_app_left_it() {
    // SIGN_APP runs on the assembled app before it is packed.
    let dir = tempfile::tempdir().unwrap();
    let signer = dir.path().join("sign");
    std::fs::write(
        &signer,
        "#!/bin/bash\necho signed > \"$1/Contents/_CodeSignature\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&signer, std::fs::Permissions::from_mode(0o755)).unwrap();
    let binary = fake_binary(dir.path());
    let tarball = release_tarball(&binary, &dir.path().join("dist"), &[("SIGN_APP", &signer)]);
    let unpacked = dir.path().join("unpacked");
    untar(&tarball, &unpacked);
    let app = homebrew_install_dir(&unpacked).join(APP);
    assert_eq!(
        std::fs::read_to_string(app.join("Contents/_CodeSignature")).unwrap(),
        "signed\n"
    );
}

const TAG_ONLY: &str = "startsWith(github.ref, 'refs/tags/v')";

#[test]
fn the_workflow_runs_on_images_github_has_and_only_a_tag_makes_release_files() {
    let text = read(".github/workflows/macos.yml");
    let workflow: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let jobs = workflow["jobs"].as_mapping().unwrap();
    let names: Vec<&str> = jobs.keys().map(|k| k.as_str().unwrap()).collect();
    // Images GitHub runs (macos-13, the last Intel one it used, was retired in Dec 2025).
    let existing = [
        "macos-14",
        "macos-15",
        "macos-latest",
        "ubuntu-24.04",
        "ubuntu-latest",
    ];
    for (name, job) in jobs {
        let name = name.as_str().unwrap();
        let runs_on = job["runs-on"].as_str().unwrap();
        let images: Vec<String> = if runs_on == "${{ matrix.os }}" {
            job["strategy"]["matrix"]["os"]
                .as_sequence()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect()
        } else {
            vec![runs_on.to_string()]
        };
        for image in images {
            assert!(existing.contains(&image.as_str()), "{name} runs on {image}");
        }
        let needs: Vec<&str> = match &job["needs"] {
            serde_yaml_ng::Value::Null => vec![],
            serde_yaml_ng::Value::String(one) => vec![one.as_str()],
            many => many
                .as_sequence()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect(),
        };
        for need in needs {
            assert!(
                names.contains(&need),
                "{name} needs {need}, which is no job"
            );
        }
    }

    let steps = |job: &str| -> Vec<serde_yaml_ng::Value> {
        jobs[job]["steps"].as_sequence().unwrap().clone()
    };
    let run = |step: &serde_yaml_ng::Value| step["run"].as_str().unwrap_or("").to_string();
    let tag_only = |step: &serde_yaml_ng::Value| step["if"].as_str() == Some(TAG_ONLY);

    // The app job packs the tarball with the script CI tests, signing through SIGN_APP.
    let app = steps("app");
    let pack = app
        .iter()
        .find(|s| run(s).contains("bash bundle/release-tarball.sh voripos-domain-sync dist"))
        .expect("a step running release-tarball.sh on the universal binary");
    assert_eq!(pack["env"]["SIGN_APP"].as_str(), Some("bundle/sign-app.sh"));
    for secret in [
        "MACOS_SIGNING_IDENTITY",
        "APPLE_ID",
        "APPLE_TEAM_ID",
        "APPLE_APP_PASSWORD",
    ] {
        let value = pack["env"][secret].as_str().unwrap();
        assert!(
            value.contains(TAG_ONLY) && value.contains(&format!("secrets.{secret}")),
            "{secret}: {value}"
        );
    }
    assert!(app
        .iter()
        .any(|s| run(s).contains("bash bundle/release-formula.sh")));
    // A build that is not a release writes nothing named like the release's PPPC profile.
    for step in &app {
        if run(step).contains("PPPC.mobileconfig") || run(step).contains("Developer ID") {
            assert!(tag_only(step), "{step:?}");
        }
    }
    let keychain = app
        .iter()
        .find(|s| run(s).contains("security import"))
        .unwrap();
    assert!(tag_only(keychain));

    // Releasing: tags only, after the app; running it again neither fails nor duplicates.
    let release = &jobs["release"];
    assert_eq!(release["if"].as_str(), Some(TAG_ONLY));
    assert_eq!(release["needs"].as_str(), Some("app"));
    let release_steps = steps("release");
    let publish = release_steps
        .iter()
        .map(run)
        .find(|r| r.contains("gh release"))
        .unwrap();
    assert!(
        publish.contains("gh release view") && publish.contains("--clobber"),
        "{publish}"
    );
    let tap = release_steps
        .iter()
        .map(run)
        .find(|r| r.contains("homebrew-voripos"))
        .unwrap();
    let nothing_to_commit = tap.find("if git diff --cached --quiet; then").unwrap();
    assert!(nothing_to_commit < tap.find("commit -m").unwrap(), "{tap}");
    assert!(tap.contains("cp dist/voripos-domain-sync.rb tap/Formula/voripos-domain-sync.rb"));
}
