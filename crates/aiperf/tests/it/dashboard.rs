//! The live dashboard in a real terminal (tmux): it draws, Ctrl-C stops the run, and the
//! terminal comes back in a sane state with the summary printed.

use std::process::Command;
use std::time::{Duration, Instant};

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().expect("tmux runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits until the pane shows `needle`; returns the pane text.
fn wait_for(session: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pane = tmux(&["capture-pane", "-p", "-S", "-300", "-t", session]);
        if pane.contains(needle) {
            return pane;
        }
        assert!(
            Instant::now() < deadline,
            "{needle:?} never appeared:\n{pane}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn dashboard_draws_and_restores_the_terminal_after_ctrl_c() {
    if Command::new("tmux").arg("-V").output().is_err() {
        // Without tmux the frame itself is still tested (ratatui TestBackend, unit tests).
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let session = format!("aiperf-dash-{}", std::process::id());
    let cmd = format!(
        "{} profile --sim fixed --streaming --concurrency 4 --osl 200 --benchmark-duration 60 --artifact-dir {}; echo EXIT=$?; sleep 60",
        env!("CARGO_BIN_EXE_aiperf"),
        dir.display()
    );
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "120",
        "-y",
        "40",
        &cmd,
    ]);
    let pane = wait_for(&session, "output tokens/s");
    assert!(pane.contains("latency (rolling window)"), "{pane}");
    tmux(&["send-keys", "-t", &session, "C-c"]);
    let pane = wait_for(&session, "EXIT=");
    tmux(&["kill-session", "-t", &session]);
    assert!(
        pane.contains("EXIT=130"),
        "Ctrl-C ends an interrupted run: {pane}"
    );
    assert!(
        pane.contains("aiperf | LLM Metrics"),
        "the summary is printed on the normal screen:\n{pane}"
    );
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("profile_export_aiperf.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["was_cancelled"], true);
}

/// Without a terminal to take over, `--ui dashboard` says so and the run goes on.
#[test]
fn dashboard_without_a_terminal_falls_back_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let output = crate::common::run(&[
        "profile",
        "--sim",
        "zero",
        "--ui",
        "dashboard",
        "--request-count",
        "5",
        "--osl",
        "4",
        "--artifact-dir",
        dir.to_str().unwrap(),
    ]);
    let stderr = crate::common::stderr(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("--ui dashboard: cannot take over this terminal"),
        "{stderr}"
    );
    assert!(dir.join("profile_export_aiperf.json").is_file());
}
