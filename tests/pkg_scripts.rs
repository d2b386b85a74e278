//! The `.pkg`'s shell scripts, which only run on a Mac as root, run here through their
//! seams: `VDS_ROOT` stands in for `/`, and stand-ins for `launchctl`, `stat`, `id`,
//! `chown`, `sudo`, `pkgutil`, `pkgbuild`, `plutil` and `ditto` on `PATH` record what
//! they were asked. Checked as a fleet admin would on a Mac: the agent installed, the
//! app started for the logged-in user (or at the next login), the 0.4.x Homebrew job
//! retired, the uninstall removing everything, the package built from the right tree.
//! The scripts pass shellcheck.

#[path = "common/skip.rs"]
mod skip;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const LABEL: &str = "com.vori.VoriPOS.DomainSync";
const HOMEBREW: &str = "homebrew.mxcl.voripos-domain-sync";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A Mac under a temp folder: the app installed, stand-in commands, one user's home.
struct Mac {
    dir: tempfile::TempDir,
}

impl Mac {
    /// `console` is what `stat -f %Su /dev/console` answers (the user logged in, or
    /// `root` at the login window).
    fn new(console: &str) -> Mac {
        let mac = Mac {
            dir: tempfile::tempdir().unwrap(),
        };
        let exe = mac.exe();
        std::fs::create_dir_all(exe.parent().unwrap()).unwrap();
        script(&exe, "echo \"app $*\" >>\"$CALLS\"\n");
        std::fs::create_dir_all(mac.root().join("Users/pos/Library/LaunchAgents")).unwrap();
        let bin = mac.bin();
        std::fs::create_dir_all(&bin).unwrap();
        let record = "echo \"$(basename \"$0\") $*\" >>\"$CALLS\"\n";
        for name in ["launchctl", "chown", "sudo", "pkgutil"] {
            script(&bin.join(name), record);
        }
        script(&bin.join("stat"), &format!("{record}echo {console}\n"));
        script(
            &bin.join("id"),
            &format!("{record}[ \"$2\" = pos ] && echo 501 || exit 1\n"),
        );
        mac
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    fn exe(&self) -> PathBuf {
        self.root()
            .join("Applications/VoriPOS Domain Sync.app/Contents/MacOS/voripos-domain-sync")
    }

    fn agent(&self) -> PathBuf {
        self.root()
            .join(format!("Library/LaunchAgents/{LABEL}.plist"))
    }

    fn homebrew_job(&self) -> PathBuf {
        self.root()
            .join(format!("Users/pos/Library/LaunchAgents/{HOMEBREW}.plist"))
    }

    fn calls_file(&self) -> PathBuf {
        self.dir.path().join("calls.txt")
    }

    /// What the stand-ins were asked, one line each.
    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.calls_file())
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .filter(|l| !l.starts_with("stat ") && !l.starts_with("id "))
            .collect()
    }

    fn run(&self, script: &str) -> Output {
        Command::new("sh")
            .arg(repo(script))
            .env("VDS_ROOT", self.root())
            .env("CALLS", self.calls_file())
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    self.bin().display(),
                    std::env::var("PATH").unwrap()
                ),
            )
            .output()
            .unwrap()
    }
}

/// Writes an executable `sh` script with `body`.
fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn postinstall_installs_the_agent_retires_homebrew_and_starts_the_app_for_the_user() {
    let mac = Mac::new("pos");
    std::fs::write(mac.homebrew_job(), "<plist/>").unwrap();
    let out = mac.run("bundle/pkg/scripts/postinstall");
    assert!(out.status.success(), "{}", text(&out));

    let agent = plist::Value::from_file(mac.agent()).unwrap();
    let agent = agent.as_dictionary().unwrap();
    assert_eq!(agent["Label"].as_string(), Some(LABEL));
    assert_eq!(
        agent["ProgramArguments"].as_array().unwrap()[0].as_string(),
        Some("/Applications/VoriPOS Domain Sync.app/Contents/MacOS/voripos-domain-sync")
    );
    assert_eq!(agent["RunAtLoad"].as_boolean(), Some(true));
    let mode = std::fs::metadata(mac.agent()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o644);

    assert!(!mac.homebrew_job().exists(), "the 0.4.x job is retired");
    let agent_path = mac.agent().display().to_string();
    let calls = mac.calls();
    assert!(calls[0].starts_with("chown root:wheel "), "{calls:?}");
    assert_eq!(
        calls[1..].to_vec(),
        vec![
            format!("launchctl bootout gui/501/{HOMEBREW}"),
            format!("launchctl bootout gui/501/{LABEL}"),
            format!("launchctl bootstrap gui/501 {agent_path}"),
        ]
    );
    assert!(
        text(&out).contains("started for pos (gui/501)"),
        "{}",
        text(&out)
    );
}

#[test]
fn postinstall_with_nobody_logged_in_leaves_the_start_to_the_next_login() {
    let mac = Mac::new("root");
    let out = mac.run("bundle/pkg/scripts/postinstall");
    assert!(out.status.success(), "{}", text(&out));
    assert!(mac.agent().exists());
    assert!(
        !mac.calls().iter().any(|c| c.starts_with("launchctl")),
        "{:?}",
        mac.calls()
    );
    assert!(
        text(&out).contains("starts at the next login"),
        "{}",
        text(&out)
    );
    // Installing again (an upgrade) replaces the agent.
    let out = mac.run("bundle/pkg/scripts/postinstall");
    assert!(out.status.success(), "{}", text(&out));
    let left: Vec<_> = std::fs::read_dir(mac.agent().parent().unwrap())
        .unwrap()
        .collect();
    assert_eq!(left.len(), 1, "no temp file left");
}

#[test]
fn postinstall_fails_when_the_app_is_missing() {
    let mac = Mac::new("pos");
    std::fs::remove_file(mac.exe()).unwrap();
    let out = mac.run("bundle/pkg/scripts/postinstall");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("did not install the app"));
    assert!(!mac.agent().exists());
}

#[test]
fn the_uninstall_script_runs_the_app_s_uninstall_as_the_user_then_removes_what_root_installed() {
    let mac = Mac::new("pos");
    assert!(mac.run("bundle/pkg/scripts/postinstall").status.success());
    let support = mac
        .root()
        .join("Library/Application Support/VoriPOS Domain Sync");
    std::fs::create_dir_all(&support).unwrap();
    std::fs::copy(repo("bundle/pkg/uninstall"), support.join("uninstall")).unwrap();
    std::fs::remove_file(mac.calls_file()).unwrap();

    let out = mac.run("bundle/pkg/uninstall");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        mac.calls(),
        vec![
            format!("launchctl bootout gui/501/{LABEL}"),
            format!("sudo -u pos -H {} uninstall", mac.exe().display()),
            format!("pkgutil --forget {LABEL}"),
        ]
    );
    assert!(!mac.agent().exists());
    assert!(!mac
        .root()
        .join("Applications/VoriPOS Domain Sync.app")
        .exists());
    assert!(!support.exists());
}

#[test]
fn build_pkg_packages_the_app_and_the_uninstall_script_not_relocatable() {
    let mac = Mac::new("pos");
    let bin = mac.bin();
    // pkgbuild records its arguments and the tree it was given; ditto copies.
    script(
        &bin.join("pkgbuild"),
        "echo \"pkgbuild $*\" >>\"$CALLS\"\n\
         if [ \"$1\" = --analyze ]; then echo '<plist/>' >\"$4\"; exit 0; fi\n\
         (cd \"$2\" && find . -type f | sort) >>\"$CALLS\"\n\
         for last; do :; done; touch \"$last\"\n",
    );
    script(&bin.join("plutil"), "echo \"plutil $*\" >>\"$CALLS\"\n");
    script(&bin.join("ditto"), "cp -R \"$1\" \"$2\"\n");
    let app = mac.root().join("Applications/VoriPOS Domain Sync.app");
    let out_dir = mac.dir.path().join("out");
    let out = Command::new("bash")
        .arg(repo("bundle/build-pkg.sh"))
        .arg(&app)
        .arg("1.2.3")
        .arg(&out_dir)
        .env("CALLS", mac.calls_file())
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let pkg = out_dir.join("voripos-domain-sync-1.2.3.pkg");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        pkg.display().to_string()
    );
    assert!(pkg.exists());
    let calls = mac.calls();
    assert!(
        calls[0].starts_with("pkgbuild --analyze --root "),
        "{calls:?}"
    );
    assert!(
        calls[1].starts_with("plutil -replace 0.BundleIsRelocatable -bool NO "),
        "{calls:?}"
    );
    let build = &calls[2];
    for part in [
        &format!("--scripts {}", repo("bundle/pkg/scripts").display()),
        &format!("--identifier {LABEL}"),
        &"--version 1.2.3".to_string(),
        &"--install-location /".to_string(),
    ] {
        assert!(build.contains(part.as_str()), "{part} not in {build}");
    }
    assert!(
        !build.contains("--sign"),
        "unsigned without an identity: {build}"
    );
    assert_eq!(
        calls[3..].to_vec(),
        vec![
            "./Applications/VoriPOS Domain Sync.app/Contents/MacOS/voripos-domain-sync",
            "./Library/Application Support/VoriPOS Domain Sync/uninstall",
        ]
    );
    // Only postinstall is in the scripts folder: pkgbuild runs what it finds there.
    let scripts: Vec<_> = std::fs::read_dir(repo("bundle/pkg/scripts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(scripts, ["postinstall"]);
}

#[test]
fn the_scripts_pass_shellcheck() {
    let scripts = [
        "bundle/pkg/scripts/postinstall",
        "bundle/pkg/uninstall",
        "bundle/build-pkg.sh",
    ];
    let out = match Command::new("shellcheck").args(scripts.map(repo)).output() {
        Ok(out) => out,
        Err(e) => {
            skip::skip(&format!(
                "shellcheck is not installed ({e}): `bash .ci/setup`"
            ));
            return;
        }
    };
    assert!(out.status.success(), "{}", text(&out));
}
