//! The menu-bar app under a virtual display: Xvfb with the trayer panel as tray host, the
//! app launched as a user would (no subcommand), driven with real clicks and keys through
//! xdotool on the real menu. A missing display tool fails in CI and skips elsewhere.

mod common;

use std::io::{BufRead, BufReader, Cursor};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::xvfb::VirtualDisplay;
use common::*;
use voripos_domain_sync::status::State;

const WAIT: Duration = Duration::from_secs(30);
/// The name tray-icon gives the icon's window on Linux.
const TRAY_NAME: &str = "tray-icon tray app";
/// The name of the app's toplevel windows (the open menu is one).
const APP_WINDOW: &str = "\"voripos-domain-sync\": (";
const TOOLS: [&str; 9] = [
    "Xvfb",
    "trayer",
    "xdotool",
    "xwininfo",
    "import",
    "xclip",
    "dbus-daemon",
    "dbus-monitor",
    "dunst",
];

/// A window's absolute position and size.
#[derive(Clone, Copy, Debug)]
struct Rect {
    x: i32,
    y: i32,
    w: i32,
    h: i32,
}

impl Rect {
    fn contains(&self, other: &Rect) -> bool {
        other.x >= self.x
            && other.y >= self.y
            && other.x + other.w <= self.x + self.w
            && other.y + other.h <= self.y + self.h
    }
}

/// The tray tests' display: a [`VirtualDisplay`] and ways to look at it and drive it.
struct XSession {
    display: VirtualDisplay,
}

impl XSession {
    /// Starts Xvfb and trayer; `None` (skip) outside CI when a tool is missing.
    fn start() -> Option<XSession> {
        let missing: Vec<&str> = TOOLS
            .into_iter()
            .filter(|t| {
                Command::new("sh")
                    .args(["-c", &format!("command -v {t}")])
                    .output()
                    .map_or(true, |o| !o.status.success())
            })
            .collect();
        if !missing.is_empty() {
            let message = format!(
                "missing {missing:?}: install xvfb trayer xdotool x11-utils imagemagick xclip dbus-daemon dunst"
            );
            skip(&message);
            return None;
        }
        let display = VirtualDisplay::start().expect("Xvfb and trayer start");
        Some(XSession { display })
    }

    /// `:N`, for `DISPLAY`.
    fn name(&self) -> &str {
        &self.display.name
    }

    fn command(&self, program: &str) -> Command {
        self.display.command(program)
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        self.command(program).args(args).output().unwrap()
    }

    /// The first window whose `xwininfo -root -tree` line contains `needle`.
    fn window(&self, needle: &str) -> Option<(String, Rect)> {
        self.display
            .window_tree()
            .lines()
            .filter(|l| l.contains(needle))
            .find_map(parse_window)
    }

    /// The app's menu while it is open: a mapped toplevel of the app bigger than a button.
    fn open_menu(&self) -> Option<(String, Rect)> {
        self.display
            .window_tree()
            .lines()
            .filter(|l| l.contains(APP_WINDOW))
            .filter_map(parse_window)
            .filter(|(_, r)| r.w > 100 && r.h > 100)
            .find(|(id, _)| {
                let info = self.run("xwininfo", &["-id", id]);
                String::from_utf8_lossy(&info.stdout).contains("IsViewable")
            })
    }

    fn xdotool(&self, args: &[&str]) {
        let out = self.run("xdotool", args);
        assert!(out.status.success(), "xdotool {args:?}: {out:?}");
    }

    fn click(&self, x: i32, y: i32) {
        self.xdotool(&["mousemove", &x.to_string(), &y.to_string(), "click", "1"]);
    }

    /// The tray icon, once the tray host has embedded it in its panel (it exists as a
    /// window of its own a moment before).
    fn embedded_icon(&self) -> Rect {
        wait_until("the tray icon in the panel", || {
            let (_, icon) = self.window(TRAY_NAME)?;
            let (_, panel) = self.window("\"panel\": (\"panel\"")?;
            panel.contains(&icon).then_some(icon)
        })
    }

    /// Clicks the tray icon and waits for the menu to open; returns it.
    fn open_the_menu(&self) -> (String, Rect) {
        let icon = self.embedded_icon();
        self.click(icon.x + icon.w / 2, icon.y + icon.h / 2);
        wait_until("the menu to open", || self.open_menu())
    }

    /// The screen as RGB rows.
    fn screenshot(&self) -> (Vec<u8>, usize) {
        let out = self.run("import", &["-window", "root", "png:-"]);
        assert!(out.status.success(), "import: {out:?}");
        let mut decoder = png::Decoder::new(Cursor::new(out.stdout));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        let channels = info.color_type.samples();
        let rgb = pixels
            .chunks_exact(channels)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        (rgb, info.width as usize)
    }

    /// Opens the menu, moves `times` items with `key` and activates that item.
    fn choose(&self, key: &str, times: usize) {
        let (_, menu) = self.open_the_menu();
        self.select(menu, key, times);
        self.xdotool(&["key", "Return"]);
    }

    /// Gives the dialog titled `title` the keyboard (no window manager does) and
    /// presses `key` in it.
    fn answer_dialog(&self, title: &str, key: &str) {
        let quoted = format!("\"{title}\"");
        let (dialog, _) = wait_until(title, || self.window(&quoted));
        self.xdotool(&["windowfocus", "--sync", &dialog]);
        self.xdotool(&["key", key]);
    }

    /// Presses `key` `times` times in the open `menu` (the first press is repeated until
    /// the menu has the keyboard and shows a selection); returns the selected rows.
    fn select(&self, menu: Rect, key: &str, times: usize) -> (i32, i32) {
        let first = wait_until("the menu to take the keyboard", || {
            self.xdotool(&["key", key]);
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(1) {
                if let Some(rows) = self.highlighted_rows(menu) {
                    return Some(rows);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            None
        });
        if times == 1 {
            return first;
        }
        let keys = vec![key; times - 1];
        self.xdotool(&[&["key"][..], &keys].concat());
        wait_until("the selection to move", || {
            self.highlighted_rows(menu).filter(|rows| *rows != first)
        })
    }

    /// The pixels of the tray icon as drawn now.
    fn icon_pixels(&self) -> Vec<u8> {
        let icon = self.embedded_icon();
        let (rgb, width) = self.screenshot();
        (icon.y..icon.y + icon.h)
            .flat_map(|y| {
                let start = (y as usize * width + icon.x as usize) * 3;
                rgb[start..start + icon.w as usize * 3].to_vec()
            })
            .collect()
    }

    /// The icon's pixels once three captures 200 ms apart agree (drawn after a change).
    fn settled_icon_pixels(&self) -> Vec<u8> {
        let mut last = self.icon_pixels();
        let mut same = 0;
        wait_until("the icon to settle", || {
            std::thread::sleep(Duration::from_millis(200));
            let now = self.icon_pixels();
            same = if now == last { same + 1 } else { 0 };
            last = now;
            (same >= 2).then(|| last.clone())
        })
    }

    /// The rows of `menu` drawn in the selection colour (the item the keyboard is on).
    fn highlighted_rows(&self, menu: Rect) -> Option<(i32, i32)> {
        let (rgb, width) = self.screenshot();
        let x = (menu.x + 4) as usize;
        let selected: Vec<i32> = (menu.y..menu.y + menu.h)
            .filter(|&y| {
                let i = (y as usize * width + x) * 3;
                let (r, b) = (rgb[i] as i32, rgb[i + 2] as i32);
                b > 150 && b > r + 60
            })
            .collect();
        Some((*selected.first()?, *selected.last()?))
    }
}

/// A private D-Bus session bus with a real notification server (dunst) on `x`'s display,
/// and a monitor recording every `Notify` call; stopped when dropped.
struct NotificationBus {
    address: String,
    children: Vec<Child>,
    record: std::path::PathBuf,
}

impl NotificationBus {
    fn start(x: &XSession, dir: &Path) -> NotificationBus {
        let (bus, address) = spawn_for_line(Command::new("dbus-daemon").args([
            "--session",
            "--nofork",
            "--print-address=1",
        ]));
        // Owned from here on, so that a failure below stops what was started.
        let mut this = NotificationBus {
            address: address.trim().to_string(),
            children: vec![bus],
            record: dir.join("notifications.txt"),
        };
        let dunst = x
            .command("dunst")
            .env("DBUS_SESSION_BUS_ADDRESS", &this.address)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dunst starts");
        this.children.push(dunst);
        let monitor = Command::new("dbus-monitor")
            .args(["--address", &this.address])
            .arg("interface='org.freedesktop.Notifications',member='Notify'")
            .stdout(std::fs::File::create(&this.record).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-monitor starts");
        this.children.push(monitor);
        let owned = || {
            let out = Command::new("dbus-send")
                .arg(format!("--bus={}", this.address))
                .args(["--print-reply", "--dest=org.freedesktop.DBus"])
                .args(["/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner"])
                .arg("string:org.freedesktop.Notifications")
                .output()
                .ok()?;
            String::from_utf8_lossy(&out.stdout)
                .contains("boolean true")
                .then_some(())
        };
        wait_until("the notification server", owned);
        this
    }

    /// Everything the monitor saw.
    fn calls(&self) -> String {
        std::fs::read_to_string(&self.record).unwrap_or_default()
    }
}

impl Drop for NotificationBus {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `command` and reads the first line it prints (a display number, a bus address).
fn spawn_for_line(command: &mut Command) -> (Child, String) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{command:?} does not start: {e}"));
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line)
}

/// The icon the app last said it shows ("Ok", "Error"…), from its log.
fn logged_icon(log: &str) -> Option<String> {
    let shown = log
        .rfind("tray icon shown: ")
        .map(|i| i + "tray icon shown: ".len());
    let now = log
        .rfind("tray icon now: ")
        .map(|i| i + "tray icon now: ".len());
    let start = shown.max(now)?;
    let word = log[start..].split(|c: char| !c.is_alphanumeric()).next()?;
    Some(word.to_string())
}

/// Waits until the app's log says it shows the `kind` icon.
fn wait_for_icon(log: &Path, kind: &str) {
    wait_until(&format!("the {kind} icon"), || {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        (logged_icon(&text).as_deref() == Some(kind)).then_some(())
    });
}

/// Polls `probe` until it gives a value; panics after [`WAIT`].
fn wait_until<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Reads `0x40001d "name": (…)  414x312+385+31  +385+31` as the id and absolute rectangle.
fn parse_window(line: &str) -> Option<(String, Rect)> {
    let mut tokens = line.split_whitespace().rev();
    let absolute = tokens.next()?;
    let relative = tokens.next()?;
    let (size, _) = relative
        .split_once('+')
        .or_else(|| relative.split_once('-'))?;
    let (w, h) = size.split_once('x')?;
    let mut xy = absolute
        .trim_start_matches('+')
        .split('+')
        .map(|n| n.parse::<i32>());
    let rect = Rect {
        x: xy.next()?.ok()?,
        y: xy.next()?.ok()?,
        w: w.parse().ok()?,
        h: h.parse().ok()?,
    };
    let id = line.split_whitespace().next()?.to_string();
    Some((id, rect))
}

fn cli(root: &Path, display: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_voripos-domain-sync"))
        .args(args)
        .arg("--config")
        .arg(root.join("config.toml"))
        .env("DISPLAY", display)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The app as a user launches it (no subcommand) on `x`'s display.
fn tray_config(root: &Path, url: &str, x: &XSession) -> DaemonConfig {
    let mut config = DaemonConfig::new(root, url);
    config.args = Vec::new();
    config.env = vec![
        ("DISPLAY".into(), x.name().to_string()),
        ("HOME".into(), root.join("home").display().to_string()),
        ("LITEFS_CLOUD_TOKEN".into(), "tok-secret-tray-4471".into()),
        ("PATH".into(), fake_opener(root)),
    ];
    config
}

/// A `PATH` whose `xdg-open` only appends what it is asked to open to `opened.txt` in
/// `root` (the desktop's file manager is not part of the test).
fn fake_opener(root: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("xdg-open");
    let record = root.join("opened.txt");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n",
            record.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

async fn wait_exit(mut app: Daemon) -> std::process::ExitStatus {
    tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = app.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the app did not quit\n{}",
                app.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_click_on_resync_now_resyncs_and_quit_stops_the_app() {
    let Some(x) = XSession::start() else { return };
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let config = tray_config(root.path(), &sim.url, &x);
    let mut app = Daemon::start(root.path(), &config);
    let synced = app.wait_synced_to(&sim.sim.position()).await;

    // The icon is embedded in the tray host's panel.
    let icon = x.embedded_icon();
    assert!(icon.w > 8 && icon.h > 8, "{icon:?}");
    wait_until("the log to say so", || {
        app.log_text().contains("tray icon shown").then_some(())
    });

    // The CLI reaches it through the socket.
    let out = cli(root.path(), x.name(), &["status", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["state"], "up_to_date");
    assert_eq!(json["pid"], app.child.id());

    // A second launch says one is running and adds no second icon.
    let out = cli(root.path(), x.name(), &[]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("already running"));
    let icons = x
        .display
        .window_tree()
        .lines()
        .filter(|l| l.contains(TRAY_NAME))
        .count();
    assert_eq!(icons, 1);

    // Open the menu, move onto "Resync now" (the fourth enabled item: the headline,
    // Rows, the file, Resync now) and click it where it is drawn: LiteFS is asked for
    // one more export.
    let exports = sim.sim.exports();
    let (_, menu) = x.open_the_menu();
    let (top, bottom) = x.select(menu, "Down", 4);
    assert!(bottom - top > 10 && bottom - top < 60, "{top}..{bottom}");
    x.click(menu.x + menu.w / 2, (top + bottom) / 2);
    let after = after_next_export(&sim.sim, exports, WAIT, || {
        let out = cli(root.path(), x.name(), &["status", "--json"]);
        serde_json::from_slice(&out.stdout).ok()
    })
    .await;
    assert!(after.last_check_at >= synced.last_check_at);
    assert_eq!(after.published_path, synced.published_path);
    // The item answers: checking, then what the check found.
    wait_until("the resync's answer in the menu", || {
        logged_menu(&app.log_text())
            .filter(|m| m.contains("Checked — nothing new"))
            .map(drop)
    });
    let log = app.log_text();
    assert!(log.contains("menu clicked: Resync"), "{log}");
    assert!(log.contains("Checking…"), "{log}");
    assert!(!log.contains("tok-secret-tray-4471"));

    // Quit, the last item.
    x.choose("Up", 1);
    let log = app.log.clone();
    let exit = wait_exit(app).await;
    assert!(exit.success(), "{exit}");
    assert!(std::fs::read_to_string(log)
        .unwrap()
        .contains("menu clicked: Quit"));
    assert_eq!(
        cli(root.path(), x.name(), &["status"]).status.code(),
        Some(3)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_asks_first_and_the_other_items_do_what_they_say() {
    let Some(x) = XSession::start() else { return };
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let config = tray_config(root.path(), &sim.url, &x);
    let mut app = Daemon::start(root.path(), &config);
    app.wait_synced_to(&sim.sim.position()).await;

    // Reset… (the fifth enabled item) opens the confirmation; Escape cancels it.
    x.choose("Down", 5);
    x.answer_dialog("Reset the local database copy?", "Escape");
    wait_until("the dialog to close", || {
        app.log_text().contains("reset cancelled").then_some(())
    });
    assert!(!app.log_text().contains("reset needs a managed container"));

    // Again, and a click on its Reset button (the right half of the button row) does it.
    x.choose("Down", 5);
    let title = "\"Reset the local database copy?\"";
    let (_, dialog) = wait_until("the reset confirmation", || x.window(title));
    x.click(dialog.x + dialog.w * 3 / 4, dialog.y + dialog.h - 15);
    wait_until("the reset", || {
        let log = app.log_text();
        log.contains("reset needs a managed container")
            .then_some(())
    });
    assert!(
        app.log_text().contains("Reset started"),
        "{}",
        app.log_text()
    );
    // Reset… is not offered again while that shows; then it is.
    wait_until("Reset… again", || {
        logged_menu(&app.log_text())
            .filter(|m| m.contains("| Reset… |"))
            .map(drop)
    });

    // Copy diagnostics (the seventh) puts the status on the clipboard, the token not,
    // and says so.
    x.choose("Down", 7);
    let text = wait_until("the diagnostics on the clipboard", || {
        let out = x.run("xclip", &["-o", "-selection", "clipboard"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.contains("diagnostics at").then_some(text)
    });
    assert!(
        text.contains("State:") && text.contains("Last sync:"),
        "{text}"
    );
    assert!(
        text.contains("Docker endpoint:") && text.contains(&sim.url),
        "{text}"
    );
    assert!(!text.contains("tok-secret-tray-4471"), "{text}");
    wait_until("the menu to say it was copied", || {
        app.log_text().contains("Copied ✓").then_some(())
    });

    // The file name (third) shows the publish folder; Open logs (sixth) the log folder.
    let opened = |n: usize| {
        wait_until("the desktop's opener", || {
            let text = std::fs::read_to_string(root.path().join("opened.txt")).ok()?;
            let lines: Vec<String> = text.lines().map(String::from).collect();
            (lines.len() >= n).then(|| lines[n - 1].clone())
        })
    };
    x.choose("Down", 3);
    assert_eq!(opened(1), config.publish_dir.display().to_string());
    x.choose("Down", 6);
    let logs = data_home(root.path()).join("voripos-domain-sync/logs");
    assert_eq!(opened(2), logs.display().to_string());

    // About (the item above Quit) names the version.
    x.choose("Up", 2);
    x.answer_dialog("About VoriPOS Domain Sync", "Return");
    let about = "\"About VoriPOS Domain Sync\"";
    wait_until("the About dialog to close", || {
        x.window(about)
            .is_none_or(|(id, _)| {
                let info = x.run("xwininfo", &["-id", &id]);
                !String::from_utf8_lossy(&info.stdout).contains("IsViewable")
            })
            .then_some(())
    });
    app.stop();
}

/// Whether the window titled `title` is on the screen.
fn dialog_shown(x: &XSession, title: &str) -> bool {
    x.window(&format!("\"{title}\"")).is_some_and(|(id, _)| {
        let info = x.run("xwininfo", &["-id", &id]);
        String::from_utf8_lossy(&info.stdout).contains("IsViewable")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_dialog_neither_freezes_the_icon_nor_delays_sigterm() {
    let Some(x) = XSession::start() else { return };
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let config = tray_config(root.path(), &sim.url, &x);
    let mut app = Daemon::start(root.path(), &config);
    app.wait_synced_to(&sim.sim.position()).await;
    wait_for_icon(&app.log, "Ok");
    let up_to_date = x.settled_icon_pixels();

    // About (the item above Quit) stays open, unanswered, for the rest of the test.
    x.choose("Up", 2);
    let about = "About VoriPOS Domain Sync";
    wait_until("the About dialog", || dialog_shown(&x, about).then_some(()));

    // The core fails meanwhile: the icon shows it at once, dialog or not.
    sim.misbehave(litefs_sim::Misbehaviour::Http500);
    sim.sim.commit(1).await.unwrap();
    app.wait_for("the error", WAIT, |s| s.state == State::Error)
        .await;
    wait_for_icon(&app.log, "Error");
    wait_until("the error icon on the screen", || {
        (x.settled_icon_pixels() != up_to_date).then_some(())
    });
    assert!(dialog_shown(&x, about), "the dialog closed by itself");

    // SIGTERM ends the app promptly, the dialog still open.
    app.stop();
}

/// How many times the app has said it changed its icon.
fn icon_changes(log: &str) -> usize {
    log.matches("tray icon now: ").count()
}

/// The menu as the app last logged it ("menu shows: …").
fn logged_menu(log: &str) -> Option<String> {
    let start = log.rfind("menu shows: ")? + "menu shows: ".len();
    Some(log[start..].lines().next()?.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_the_menu_shows_the_real_last_sync_and_an_outage_does_not_blink() {
    let Some(x) = XSession::start() else { return };
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let mut config = tray_config(root.path(), &sim.url, &x);
    let mut app = Daemon::start(root.path(), &config);
    let synced = app.wait_synced_to(&sim.sim.position()).await;
    app.stop();

    // Started again with the database unchanged, and LiteFS gone (say, Docker still
    // starting): the menu shows when the file was really published.
    config.url = format!("http://127.0.0.1:{}", free_port());
    let mut app = Daemon::start(root.path(), &config);
    let shown = app
        .wait_for("the file described", WAIT, |s| s.last_sync_at.is_some())
        .await;
    let was = synced.last_sync_at.unwrap();
    let now = shown.last_sync_at.unwrap();
    assert!((now - was).num_seconds().abs() <= 2, "{now} vs {was}");
    let local = now
        .with_timezone(&chrono::Local)
        .format("%H:%M:%S")
        .to_string();
    let menu = wait_until("the menu to show the last sync", || {
        logged_menu(&app.log_text()).filter(|m| m.contains(&format!("Last sync: {local}")))
    });
    assert!(!menu.contains("Last sync: never"), "{menu}");

    // The retries that follow (at most a second apart here) do not change the icon.
    // Neither on the screen nor in what the app says it shows (a flip that fast could
    // fall between two screenshots).
    app.wait_for("a failed try", WAIT, |s| s.error.is_some())
        .await;
    wait_for_icon(&app.log, "Ok");
    let first = x.settled_icon_pixels();
    let changes = icon_changes(&app.log_text());
    let until = Instant::now() + Duration::from_secs(5);
    let mut samples = 0;
    while Instant::now() < until {
        assert!(
            x.icon_pixels() == first,
            "the icon blinked:\n{}",
            app.log_text()
        );
        samples += 1;
    }
    assert!(samples > 10, "{samples} samples");
    let log = app.log_text();
    assert!(log.matches("sync failed").count() > 3, "retries:\n{log}");
    assert_eq!(icon_changes(&log), changes, "the icon blinked:\n{log}");
    app.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_display_the_app_runs_headless() {
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let mut config = DaemonConfig::new(root.path(), &sim.url);
    config.args = Vec::new();
    config.env = vec![("DISPLAY".into(), String::new())];
    let mut app = Daemon::start(root.path(), &config);
    app.wait_synced_to(&sim.sim.position()).await;
    let log = app.log_text();
    assert!(log.contains("running without a tray: no display"), "{log}");
    assert!(!log.contains("tray icon shown"));
    app.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trouble_changes_the_icon_and_lasting_trouble_and_its_end_are_notified_once() {
    let Some(x) = XSession::start() else { return };
    let root = tempfile::tempdir().unwrap();
    let bus = NotificationBus::start(&x, root.path());
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let mut config = tray_config(root.path(), &sim.url, &x);
    config.extra = "[notifications]\nafter = \"1s\"\n".into();
    config
        .env
        .push(("DBUS_SESSION_BUS_ADDRESS".into(), bus.address.clone()));
    let mut app = Daemon::start(root.path(), &config);
    app.wait_synced_to(&sim.sim.position()).await;
    wait_for_icon(&app.log, "Ok");
    let up_to_date = x.settled_icon_pixels();

    // Exports fail for a while: retries keep failing, one notification says so, and
    // the icon changes.
    sim.misbehave(litefs_sim::Misbehaviour::Http500);
    sim.sim.commit(1).await.unwrap();
    app.wait_for("the error", WAIT, |s| s.state == State::Error)
        .await;
    wait_for_icon(&app.log, "Error");
    wait_until("another icon", || {
        (x.icon_pixels() != up_to_date).then_some(())
    });
    wait_until("the trouble notification", || {
        bus.calls().contains("Domain sync is failing").then_some(())
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        app.log_text().matches("sync starting").count() > 3,
        "retries"
    );

    // LiteFS recovers: one more notification, and no second trouble one.
    sim.misbehave(litefs_sim::Misbehaviour::None);
    app.wait_synced_to(&sim.sim.position()).await;
    wait_until("the recovery notification", || {
        bus.calls()
            .contains("Domain data is up to date again")
            .then_some(())
    });
    wait_until("the up-to-date icon again", || {
        (x.icon_pixels() == up_to_date).then_some(())
    });
    let calls = bus.calls();
    assert_eq!(
        calls.matches("Domain sync is failing").count(),
        1,
        "{calls}"
    );
    assert!(
        calls.contains("The POS keeps using its current database file"),
        "{calls}"
    );
    assert!(calls.contains("VoriPOS Domain Sync"), "{calls}");
    app.stop();
}

/// Whether `docker` answers; `false` (skip) only outside CI.
fn docker_answers() -> bool {
    let ok = Command::new("docker")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip("no Docker engine (`docker info` fails)");
    }
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_shows_the_menu_bar_app_and_quit_removes_its_container() {
    let Some(x) = XSession::start() else { return };
    if !docker_answers() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let port = free_port();
    let log = root.path().join("demo.log");
    let demo_dir = root.path().join("demo");
    let mut child = x
        .command(env!("CARGO_BIN_EXE_voripos-domain-sync"))
        .args([
            "demo",
            "--size-mb",
            "2",
            "--port",
            &port.to_string(),
            "--dir",
        ])
        .arg(&demo_dir)
        .env("HOME", root.path().join("home"))
        .env("XDG_DATA_HOME", data_home(root.path()))
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(root.path().join("demo.err")).unwrap())
        .spawn()
        .unwrap();
    let status_file = demo_dir.join("status.json");
    let synced = wait_until("the demo's first publish", || {
        if let Ok(Some(exit)) = child.try_wait() {
            panic!(
                "the demo exited ({exit}):\n{}",
                std::fs::read_to_string(root.path().join("demo.err")).unwrap_or_default()
            );
        }
        voripos_domain_sync::status::read_file(&status_file)
            .ok()
            .filter(|s| s.state == State::UpToDate && s.txid.is_some())
    });
    assert!(synced
        .published_path
        .unwrap()
        .starts_with(demo_dir.join("Domain")));
    assert!(synced
        .container
        .is_some_and(|c| c.name == "voripos-domain-sync-demo"));
    // The CLI reaches the demo with the config file it wrote.
    let out = Command::new(env!("CARGO_BIN_EXE_voripos-domain-sync"))
        .args(["status", "--json", "--config"])
        .arg(demo_dir.join("demo.toml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["pid"], child.id());

    x.choose("Up", 1);
    let exit = wait_until("the demo to quit", || child.try_wait().unwrap());
    assert!(exit.success(), "{exit}");
    let out = std::fs::read_to_string(&log).unwrap();
    assert!(
        out.contains("Removing the demo container and its volume"),
        "{out}"
    );
    let left = Command::new("docker")
        .args([
            "ps",
            "-a",
            "--filter",
            "name=^voripos-domain-sync-demo$",
            "-q",
        ])
        .output()
        .unwrap();
    assert!(left.stdout.is_empty(), "the demo container is still there");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_appindicator_library_the_sync_runs_on_without_an_icon() {
    let Some(x) = XSession::start() else { return };
    let library = Path::new("/usr/lib/x86_64-linux-gnu/libayatana-appindicator3.so.1");
    // Hiding the library needs a private mount namespace, so root (as in CI).
    let root_user = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    if !(root_user && library.exists()) {
        skip(&format!("needs root and {} (as in CI)", library.display()));
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let sim = SimServer::start(&root.path().join("litefs"), 1, None).await;
    let config = tray_config(root.path(), &sim.url, &x);
    let config_path = root.path().join("config.toml");
    config.write(&config_path);
    let log = root.path().join("app.log");
    // The library is replaced by /dev/null for this process only.
    let mut child = x
        .command("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(format!(
            "mount --bind /dev/null {} && exec \"$0\" --config \"$1\"",
            library.display()
        ))
        .arg(env!("CARGO_BIN_EXE_voripos-domain-sync"))
        .arg(&config_path)
        .envs(config.env.iter().map(|(k, v)| (k, v)))
        .env("XDG_DATA_HOME", data_home(root.path()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let synced = wait_until("a publish without an icon", || {
        if let Ok(Some(exit)) = child.try_wait() {
            panic!(
                "the app exited ({exit}):\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        voripos_domain_sync::status::read_file(&config.status_file)
            .ok()
            .filter(|s| s.state == State::UpToDate)
    });
    assert_eq!(synced.pid, child.id());
    // The UI thread says why there is no icon (possibly after the first publish).
    wait_until("the log to say why there is no icon", || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.contains("install libayatana-appindicator3-1")
            .then_some(())
    });
    assert!(x.window(TRAY_NAME).is_none());
    let out = cli(root.path(), x.name(), &["quit"]);
    assert!(out.status.success(), "{out:?}");
    let exit = wait_until("the app to quit", || child.try_wait().unwrap());
    assert!(exit.success(), "{exit}");
}
