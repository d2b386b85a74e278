//! `uninstall [--dry-run]`: removes what this app put on the Mac, never the POS's
//! published files.
//!
//! [`plan`] is pure: from what [`survey`] found (the running instance, the LaunchAgent,
//! the login item, the container and volume Docker reports, the app's folders and files)
//! it lists the steps and what is deliberately left. `--dry-run` prints that list; a real
//! run carries out exactly that list ([`survey::carry_out`]), so the two always agree.
//! The `.app` or the Homebrew formula itself is left to whoever installed it (the
//! `.pkg`'s uninstall script, `brew uninstall`).

pub mod survey;

use std::fmt;
use std::path::{Path, PathBuf};

/// The uninstall script the `.pkg` installs (`bundle/pkg/uninstall`).
pub const PACKAGE_UNINSTALL: &str = "/Library/Application Support/VoriPOS Domain Sync/uninstall";

/// One thing to remove, in the order they are removed: first what starts the app, then
/// the app, then what it created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// `launchctl bootout` the agent (macOS) and delete its plist.
    LaunchAgent { plist: PathBuf },
    /// Unregister the `.app`'s login item (macOS 13+).
    LoginItem,
    /// Ask the running instance to quit, and wait until it has.
    StopApp { socket: PathBuf },
    /// Stop and remove the LiteFS container (only one labelled as ours).
    Container { name: String },
    /// Remove the container's data volume (only one labelled as ours).
    Volume { name: String },
    /// Delete a folder and everything in it.
    Folder { what: &'static str, path: PathBuf },
    /// Delete one file.
    File { what: &'static str, path: PathBuf },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::LaunchAgent { plist } => write!(f, "the LaunchAgent {}", plist.display()),
            Step::LoginItem => {
                f.write_str("the login item of the app (System Settings → Login Items)")
            }
            Step::StopApp { socket } => write!(
                f,
                "the running app (stopped; it answers at {})",
                socket.display()
            ),
            Step::Container { name } => write!(f, "the Docker container {name}"),
            Step::Volume { name } => write!(f, "the Docker volume {name}"),
            Step::Folder { what, path } => write!(f, "{what} {}", path.display()),
            Step::File { what, path } => write!(f, "{what} {}", path.display()),
        }
    }
}

/// What is on this machine, as [`survey::survey`] found it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Found {
    /// The LaunchAgent plist, when it exists.
    pub agent: Option<PathBuf>,
    /// Whether the `.app`'s login item is registered.
    pub login_item: bool,
    /// The control socket of a running instance that answers.
    pub running: Option<PathBuf>,
    /// Our container and volume, when Docker has them (checked to be ours).
    pub container: Option<String>,
    pub volume: Option<String>,
    /// Why Docker could not be asked, with the names that would have been looked for.
    pub docker_unchecked: Option<(String, String, String)>,
    /// Containers or volumes with our names that are someone else's (left alone).
    pub not_ours: Vec<String>,
    /// The app's folders that exist (what, path): logs, support folder, config folder.
    pub folders: Vec<(&'static str, PathBuf)>,
    /// The app's files outside those folders that exist (a status file set elsewhere).
    pub files: Vec<(&'static str, PathBuf)>,
    /// A config file named by `--config` or the environment, outside the app's folders.
    pub own_config: Option<PathBuf>,
    /// Homebrew's service plist, when `brew services` starts the app.
    pub homebrew_service: Option<PathBuf>,
    /// The LaunchAgent the `.pkg` installed for every user (root's to remove).
    pub package_agent: Option<PathBuf>,
    /// Where the POS's databases are published.
    pub publish_dir: PathBuf,
}

/// What a run removes, and what it leaves and why.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub notes: Vec<String>,
}

/// The steps for what was `found`, and the notes on what stays.
pub fn plan(found: &Found) -> Plan {
    let mut steps = Vec::new();
    let mut notes = Vec::new();
    if let Some(plist) = &found.agent {
        steps.push(Step::LaunchAgent {
            plist: plist.clone(),
        });
    }
    if found.login_item {
        steps.push(Step::LoginItem);
    }
    if let Some(socket) = &found.running {
        steps.push(Step::StopApp {
            socket: socket.clone(),
        });
    }
    if let Some(name) = &found.container {
        steps.push(Step::Container { name: name.clone() });
    }
    if let Some(name) = &found.volume {
        steps.push(Step::Volume { name: name.clone() });
    }
    for (what, path) in &found.folders {
        if holds(path, &found.publish_dir) {
            notes.push(format!(
                "{what} {} is kept: the published files are in it",
                path.display()
            ));
            continue;
        }
        // A folder inside another one removed goes with it.
        let inside_another = found.folders.iter().any(|(_, other)| {
            other != path && path.starts_with(other) && !holds(other, &found.publish_dir)
        });
        let listed = steps
            .iter()
            .any(|s| matches!(s, Step::Folder { path: p, .. } if p == path));
        if inside_another || listed {
            continue;
        }
        steps.push(Step::Folder {
            what,
            path: path.clone(),
        });
    }
    for (what, path) in &found.files {
        let inside = found.folders.iter().any(|(_, f)| path.starts_with(f));
        if !inside && !holds(path, &found.publish_dir) {
            steps.push(Step::File {
                what,
                path: path.clone(),
            });
        }
    }
    if let Some((why, container, volume)) = &found.docker_unchecked {
        notes.push(format!(
            "the Docker container {container} and volume {volume} were not checked ({why}): \
             start Docker and run `voripos-domain-sync uninstall` again"
        ));
    }
    for name in &found.not_ours {
        notes.push(format!(
            "{name} has this app's name but not its label: someone else's, left alone"
        ));
    }
    if let Some(path) = &found.own_config {
        notes.push(format!(
            "the config file {} was named by --config or VORIPOS_DOMAIN_SYNC_CONFIG: kept",
            path.display()
        ));
    }
    if let Some(path) = &found.homebrew_service {
        notes.push(format!(
            "Homebrew's service starts the app ({}): run `brew services stop voripos-domain-sync` \
             and `brew uninstall voripos-domain-sync`",
            path.display()
        ));
    }
    if let Some(path) = &found.package_agent {
        notes.push(format!(
            "{} was installed by the .pkg for every user: remove the package with \
             `sudo \"{PACKAGE_UNINSTALL}\"`",
            path.display()
        ));
    }
    notes.push(format!(
        "the POS's published databases stay in {}: they are the POS's data",
        found.publish_dir.display()
    ));
    Plan { steps, notes }
}

/// Whether removing `path` would remove `publish_dir` (it is, or holds, the folder).
fn holds(path: &Path, publish_dir: &Path) -> bool {
    publish_dir.starts_with(path)
}

/// The plan as `--dry-run` prints it.
pub fn render_dry_run(plan: &Plan) -> String {
    let mut out = match plan.steps.is_empty() {
        true => "Nothing to remove.\n".to_string(),
        false => "Would remove:\n".to_string(),
    };
    for step in &plan.steps {
        out += &format!("  {step}\n");
    }
    out += &render_notes(plan);
    out
}

/// The notes on what stays.
pub fn render_notes(plan: &Plan) -> String {
    plan.notes.iter().map(|n| format!("Kept: {n}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found() -> Found {
        Found {
            agent: Some("/Users/pos/Library/LaunchAgents/com.vori.VoriPOS.DomainSync.plist".into()),
            running: Some(
                "/Users/pos/Library/Application Support/com.vori.VoriPOS.DomainSync/control.sock"
                    .into(),
            ),
            container: Some("voripos-domain-sync-litefs".into()),
            volume: Some("voripos-domain-sync-litefs-data".into()),
            folders: vec![
                (
                    "the logs",
                    "/Users/pos/Library/Logs/VoriPOS Domain Sync".into(),
                ),
                (
                    "the support folder",
                    "/Users/pos/Library/Application Support/com.vori.VoriPOS.DomainSync".into(),
                ),
            ],
            publish_dir: "/Users/pos/Library/Application Support/VoriPOS/Domain".into(),
            ..Found::default()
        }
    }

    #[test]
    fn what_starts_the_app_goes_first_then_the_app_then_its_things() {
        let plan = plan(&found());
        let order: Vec<String> = plan.steps.iter().map(|s| s.to_string()).collect();
        assert!(order[0].starts_with("the LaunchAgent "), "{order:?}");
        assert!(
            order[1].starts_with("the running app (stopped"),
            "{order:?}"
        );
        assert_eq!(order[2], "the Docker container voripos-domain-sync-litefs");
        assert_eq!(
            order[3],
            "the Docker volume voripos-domain-sync-litefs-data"
        );
        assert_eq!(
            order[4],
            "the logs /Users/pos/Library/Logs/VoriPOS Domain Sync"
        );
        assert_eq!(order.len(), 6);
        let text = render_dry_run(&plan);
        assert!(
            text.starts_with("Would remove:\n  the LaunchAgent"),
            "{text}"
        );
        assert!(text.ends_with(
            "Kept: the POS's published databases stay in /Users/pos/Library/Application Support/VoriPOS/Domain: they are the POS's data\n"
        ), "{text}");
    }

    #[test]
    fn a_folder_holding_the_published_files_is_kept() {
        let mut found = found();
        found.publish_dir = found.folders[1].1.join("demo/Domain");
        let plan = plan(&found);
        assert!(!plan.steps.iter().any(|s| matches!(
            s,
            Step::Folder {
                what: "the support folder",
                ..
            }
        )));
        assert!(
            plan.notes[0].contains("is kept: the published files are in it"),
            "{:?}",
            plan.notes
        );
    }

    #[test]
    fn a_folder_inside_another_is_removed_with_it() {
        let mut found = found();
        found.folders[0].1 = found.folders[1].1.join("logs");
        let plan = plan(&found);
        let folders: Vec<&Step> = plan
            .steps
            .iter()
            .filter(|s| matches!(s, Step::Folder { .. }))
            .collect();
        assert_eq!(folders.len(), 1, "{folders:?}");
    }

    #[test]
    fn files_inside_removed_folders_are_not_listed_twice() {
        let mut found = found();
        found
            .folders
            .push(("the config folder", found.folders[1].1.clone()));
        found.files = vec![
            ("the status file", found.folders[1].1.join("status.json")),
            ("the status file", "/var/tmp/vds/status.json".into()),
        ];
        let plan = plan(&found);
        let listed: Vec<String> = plan.steps.iter().map(|s| s.to_string()).collect();
        let folders = plan
            .steps
            .iter()
            .filter(|s| matches!(s, Step::Folder { .. }))
            .count();
        assert_eq!(
            folders, 2,
            "the logs and the support folder once: {listed:?}"
        );
        assert_eq!(
            listed.last().unwrap(),
            "the status file /var/tmp/vds/status.json"
        );
    }

    #[test]
    fn nothing_found_means_nothing_to_remove_and_says_why_docker_was_not_checked() {
        let plan = plan(&Found {
            docker_unchecked: Some((
                "Docker is not running".into(),
                "voripos-domain-sync-litefs".into(),
                "voripos-domain-sync-litefs-data".into(),
            )),
            homebrew_service: Some(
                "/Users/pos/Library/LaunchAgents/homebrew.mxcl.voripos-domain-sync.plist".into(),
            ),
            publish_dir: "/p".into(),
            ..Found::default()
        });
        let text = render_dry_run(&plan);
        assert!(text.starts_with("Nothing to remove.\n"), "{text}");
        assert!(
            text.contains("run `voripos-domain-sync uninstall` again"),
            "{text}"
        );
        assert!(
            text.contains("brew services stop voripos-domain-sync"),
            "{text}"
        );
    }
}
