//! Hand-offs to the desktop: showing a file or folder, starting Docker Desktop, and
//! desktop notifications.
//! Failures are logged; none of them affects the sync.

use std::path::Path;

use super::episodes::Notice;

/// Shows `file` in its folder (selected in the Finder on macOS).
pub fn reveal(file: &Path) {
    #[cfg(target_os = "macos")]
    let result = std::process::Command::new("/usr/bin/open")
        .arg("-R")
        .arg(file)
        .status()
        .map(drop);
    #[cfg(not(target_os = "macos"))]
    let result = opener::open(file.parent().unwrap_or(file)).map_err(std::io::Error::other);
    if let Err(e) = result {
        tracing::warn!(file = %file.display(), error = %e, "cannot show the file");
    }
}

/// Opens `folder` in the file manager, creating it first if needed.
pub fn open_folder(folder: &Path) {
    if let Err(e) = std::fs::create_dir_all(folder) {
        tracing::warn!(folder = %folder.display(), error = %e, "cannot create the folder");
    }
    if let Err(e) = opener::open(folder) {
        tracing::warn!(folder = %folder.display(), error = %e, "cannot open the folder");
    }
}

/// Starts Docker Desktop (`open -a Docker`, on a thread of its own; macOS only, where the
/// menu offers it).
pub fn open_docker() {
    let started = std::thread::Builder::new()
        .name("open-docker".into())
        .spawn(|| {
            #[cfg(target_os = "macos")]
            let result = std::process::Command::new("/usr/bin/open")
                .args(["-a", "Docker"])
                .status()
                .map_err(|e| e.to_string())
                .and_then(|s| {
                    s.success()
                        .then_some(())
                        .ok_or(format!("open -a Docker: {s}"))
                });
            #[cfg(not(target_os = "macos"))]
            let result: Result<(), String> = Err("Docker Desktop is opened on macOS only".into());
            match result {
                Ok(()) => tracing::info!("Docker Desktop asked to start"),
                Err(e) => tracing::warn!(error = %e, "cannot start Docker Desktop"),
            }
        });
    if let Err(e) = started {
        tracing::warn!(error = %e, "cannot start the thread that opens Docker Desktop");
    }
}

/// Shows `notice` as a desktop notification, on a thread of its own (delivery may wait
/// on the notification service).
pub fn notify(notice: Notice) {
    tracing::info!(title = %notice.title, body = %notice.body, "notification");
    let sent = std::thread::Builder::new()
        .name("notification".into())
        .spawn(move || {
            #[cfg(target_os = "macos")]
            {
                // Attribute notifications to the app, not to the default (Finder).
                static APP: std::sync::Once = std::sync::Once::new();
                APP.call_once(|| {
                    let _ = notify_rust::set_application(crate::login::launch_agent::LABEL);
                });
            }
            let shown = notify_rust::Notification::new()
                .appname("VoriPOS Domain Sync")
                .summary(&notice.title)
                .body(&notice.body)
                .show();
            if let Err(e) = shown {
                tracing::warn!(error = %e, "the desktop did not take the notification");
            }
        });
    if let Err(e) = sent {
        tracing::warn!(error = %e, "cannot start the notification thread");
    }
}
