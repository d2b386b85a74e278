//! Section 7: what the tray costs. The menu-bar app and a headless daemon sync from the
//! same quiet sim, then idle side by side; the app's figures are divided by the headless
//! daemon's from the same run.

use super::*;

#[path = "../common/xvfb.rs"]
mod xvfb;

/// One process's idle figures.
struct Idle {
    cpu: f64,
    wakeups: u64,
    hwm_kb: u64,
}

pub async fn tray_section(plan: &Plan, env: &Env, summary: &mut Vec<Verdict>) -> Result<()> {
    eprintln!("\n[7] tray: starting Xvfb, trayer, litefs-sim and two daemons…");
    let display = xvfb::VirtualDisplay::start()
        .context("starting Xvfb and trayer (apt-get install xvfb trayer x11-utils)")?;
    let sim = SimServer::start(env, plan.burst_mb, env.tmp("tray-sim")?).await?;
    let mut headless = Daemon::start(env, &env.tmp("tray-headless")?, &sim.url, 5, None)?;
    let mut app = Daemon::spawn(
        env,
        &env.tmp("tray-app")?,
        &sim.url,
        5,
        None,
        Some(&display.name),
    )?;
    for daemon in [&mut headless, &mut app] {
        daemon
            .wait_published(
                sim.checksum(),
                Duration::from_secs(120),
                Duration::from_millis(5),
            )
            .await
            .context("the first publish")?;
    }
    if !app.log_text().contains("tray icon shown") {
        bail!("the app shows no tray icon:\n{}", app.log_tail());
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    eprintln!("[7] tray: measuring both for {} s…", plan.idle.as_secs());
    let before = [
        (headless.cpu_ticks()?, headless.switches()),
        (app.cpu_ticks()?, app.switches()),
    ];
    let t0 = Instant::now();
    tokio::time::sleep(plan.idle).await;
    let elapsed = t0.elapsed();
    let mut figures = Vec::new();
    for (daemon, (ticks0, sw0)) in [&mut headless, &mut app].into_iter().zip(before) {
        if let Ok(Some(exit)) = daemon.child.try_wait() {
            bail!("a daemon exited while idle ({exit})\n{}", daemon.log_tail());
        }
        let sw1 = daemon.switches();
        figures.push(Idle {
            cpu: daemon.cpu_ticks()?.saturating_sub(ticks0) as f64 / env.clk_tck,
            wakeups: sw1
                .iter()
                .map(|(tid, n)| n.saturating_sub(*sw0.get(tid).unwrap_or(&0)))
                .sum(),
            hwm_kb: daemon.vm_hwm_kb()?,
        });
    }
    let (h, t) = (&figures[0], &figures[1]);
    let per_s = |n: u64| n as f64 / elapsed.as_secs_f64();
    let ratio_of = |a: f64, b: f64| {
        if b > 0.0 {
            format!("{:.2}×", a / b)
        } else {
            "—".into()
        }
    };
    println!(
        "\n[7] Tray: the menu-bar app vs a headless daemon, both synced and idle, {}",
        secs(elapsed)
    );
    println!(
        "  {:<28} {:>12} {:>12} {:>8}",
        "", "headless", "menu-bar", "ratio"
    );
    println!(
        "  {:<28} {:>12} {:>12} {:>8}",
        "CPU (utime+stime)",
        format!("{:.2} s", h.cpu),
        format!("{:.2} s", t.cpu),
        ratio_of(t.cpu, h.cpu)
    );
    println!(
        "  {:<28} {:>12} {:>12} {:>8}",
        "context switches per second",
        format!("{:.2}", per_s(h.wakeups)),
        format!("{:.2}", per_s(t.wakeups)),
        ratio_of(t.wakeups as f64, h.wakeups as f64)
    );
    println!(
        "  {:<28} {:>12} {:>12} {:>8}",
        "peak RSS (VmHWM)",
        mb(h.hwm_kb * 1024),
        mb(t.hwm_kb * 1024),
        ratio_of(t.hwm_kb as f64, h.hwm_kb as f64)
    );
    let pct = t.cpu / elapsed.as_secs_f64() * 100.0;
    summary.push(verdict(
        &format!("menu-bar app idle CPU over {} s", plan.idle.as_secs()),
        format!("{:.2} s ({pct:.3}%)", t.cpu),
        "rounds to zero",
        Some(t.cpu * 60.0 / elapsed.as_secs_f64() < 0.05),
    ));
    summary.push(verdict(
        "menu-bar app peak RSS ÷ headless",
        ratio_of(t.hwm_kb as f64, h.hwm_kb as f64),
        "report",
        None,
    ));
    Ok(())
}
