//! Options of agentic replay and of trace formats this tool does not read: the agentic and
//! Weka ones run with a note that they have no effect; the Baseten ones are refused (as the
//! Python AIPerf refuses them for every other dataset type), naming what to do instead.

use crate::common::{assert_usage_error, profile, stderr};

/// Agentic replay and Weka options: the run succeeds and a note names each one.
#[test]
fn agentic_and_weka_options_say_they_have_no_effect() {
    let tmp = tempfile::tempdir().unwrap();
    let output = profile(
        tmp.path(),
        &[
            "--sim",
            "zero",
            "--request-count",
            "2",
            "--trajectory-start-min-ratio",
            "0.1",
            "--trajectory-start-max-ratio",
            "0.9",
            "--burst-phase-starts",
            "--system-idle-gap-cap-seconds",
            "5",
            "--agentic-cache-warmup-duration",
            "10",
            "--agentic-warmup-grace-period",
            "3",
            "--trace-idle-gap-cap-seconds",
            "5",
        ],
    );
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    for flag in [
        "--trajectory-start-min-ratio",
        "--trajectory-start-max-ratio",
        "--burst-phase-starts",
        "--system-idle-gap-cap-seconds",
        "--agentic-cache-warmup-duration",
        "--agentic-warmup-grace-period",
    ] {
        let note = format!(
            "{flag} applies to agentic replay (trajectory datasets), which is not offered \
             here; it has no effect"
        );
        assert!(err.contains(&note), "no note for {flag}: {err}");
    }
    assert!(
        err.contains(
            "--trace-idle-gap-cap-seconds applies to Weka traces, which are not read here; it \
             has no effect"
        ),
        "{err}"
    );
}

/// Baseten trace options are refused with what to do instead.
#[test]
fn baseten_trace_options_are_refused_with_the_alternative() {
    for (flag, value) in [
        ("--max-idle-gap-cap-seconds", Some("5")),
        ("--replay-speedup", Some("2")),
        ("--open-loop-replay", None),
        ("--no-open-loop-replay", None),
        ("--open-loop-strict", None),
        ("--omit-kv-hints", None),
        ("--force-min-tokens", None),
        ("--no-force-min-tokens", None),
    ] {
        let mut args = vec!["profile", "--sim", "--request-count", "1", flag];
        args.extend(value);
        assert_usage_error(
            &args,
            &format!(
                "{flag} is only supported by the baseten_trace loader (Parquet), which this \
                 tool does not read; drop it (replay a mooncake_trace with --fixed-schedule \
                 instead)"
            ),
        );
    }
}
