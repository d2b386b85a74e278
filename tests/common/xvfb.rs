//! A virtual X display with the trayer tray host (XEmbed), for the tray tests and the
//! tray benchmark. Both are stopped when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the panel may take to appear.
const PANEL_WAIT: Duration = Duration::from_secs(30);

/// Xvfb on a display number it picked, and trayer's panel on it.
pub struct VirtualDisplay {
    /// `:N`, for `DISPLAY`.
    pub name: String,
    xvfb: Child,
    trayer: Option<Child>,
}

impl VirtualDisplay {
    /// Starts Xvfb and trayer and waits for trayer's panel.
    pub fn start() -> std::io::Result<VirtualDisplay> {
        let mut xvfb = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", "800x600x24"])
            .args(["-nolisten", "tcp"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let mut number = String::new();
        if let Some(stdout) = xvfb.stdout.take() {
            BufReader::new(stdout).read_line(&mut number)?;
        }
        let mut display = VirtualDisplay {
            name: format!(":{}", number.trim()),
            xvfb,
            trayer: None,
        };
        let start = Instant::now();
        while !display.panel_shown() {
            // trayer sometimes exits at once when the display has only just come up.
            let exited = display
                .trayer
                .as_mut()
                .is_none_or(|t| t.try_wait().is_ok_and(|e| e.is_some()));
            if exited {
                display.trayer = Some(display.start_trayer()?);
            }
            if start.elapsed() > PANEL_WAIT {
                return Err(std::io::Error::other("trayer's panel did not appear"));
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        Ok(display)
    }

    /// `program`, to run on this display.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("DISPLAY", &self.name);
        c
    }

    /// `xwininfo -root -tree`: every window, one line each.
    pub fn window_tree(&self) -> String {
        self.command("xwininfo")
            .args(["-root", "-tree"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    fn panel_shown(&self) -> bool {
        self.window_tree().contains("\"panel\": (\"panel\"")
    }

    fn start_trayer(&self) -> std::io::Result<Child> {
        self.command("trayer")
            .args([
                "--edge",
                "top",
                "--align",
                "right",
                "--widthtype",
                "request",
            ])
            .args(["--height", "32", "--SetDockType", "true"])
            .args(["--transparent", "false"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
    }
}

impl Drop for VirtualDisplay {
    fn drop(&mut self) {
        for child in self.trayer.iter_mut().chain([&mut self.xvfb]) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
