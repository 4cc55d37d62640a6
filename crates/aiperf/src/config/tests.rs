//! Flags to settings, checked through the real command line.

use clap::Parser;

use super::*;
use crate::cli::{Cli, Command};
use crate::settings::*;
use serde_json::Value;

fn parse(args: &[&str]) -> Result<ProfileConfig, UsageError> {
    let argv: Vec<String> = ["aiperf", "profile"]
        .iter()
        .chain(args)
        .map(|s| (*s).to_owned())
        .collect();
    let cli = Cli::try_parse_from(&argv).map_err(|e| UsageError::new(e.to_string()))?;
    let Command::Profile(p) = cli.command else {
        unreachable!()
    };
    resolve(&p, &argv)
}

#[test]
fn defaults_match_the_reference_tool() {
    let c = parse(&["-m", "m"]).unwrap();
    assert_eq!(c.endpoint.urls, ["http://localhost:8000"]);
    assert_eq!(c.endpoint.path, "/v1/chat/completions");
    assert!(!c.endpoint.streaming);
    let InputConfig::Synthetic {
        isl, osl, entries, ..
    } = c.input
    else {
        panic!()
    };
    assert_eq!((isl.mean, osl, entries), (550.0, None, 100));
    assert_eq!(c.load.grace_period_secs, 30.0);
    assert_eq!(
        c.tokenizer,
        TokenizerSpec::Builtin {
            encoding: Encoding::O200kBase
        }
    );
}

#[test]
fn flags_resolve() {
    let c = parse(&[
        "-m",
        "a,b",
        "-u",
        "example.com:9000/",
        "--endpoint-type",
        "completions",
        "--streaming",
        "--api-key",
        "sk-1",
        "-H",
        "X-Team:perf",
        "-H",
        "Authorization:Bearer x",
        "--extra-inputs",
        "ignore_eos:true",
        "--extra-inputs",
        "{\"min_tokens\": 5}",
        "--request-rate",
        "20",
        "--arrival-pattern",
        "gamma",
        "--arrival-smoothness",
        "0.5",
        "--benchmark-duration",
        "3",
        "--goodput",
        "time_to_first_token:200 inter_token_latency:20",
        "--random-seed",
        "7",
        "--isl",
        "64",
        "--osl",
        "16",
    ])
    .unwrap();
    assert_eq!(c.models, ["a", "b"]);
    assert_eq!(c.endpoint.urls, ["http://example.com:9000"]);
    assert_eq!(c.endpoint.path, "/v1/completions");
    assert!(c.endpoint.streaming);
    assert_eq!(c.endpoint.extra_inputs["ignore_eos"], Value::Bool(true));
    assert_eq!(c.endpoint.extra_inputs["min_tokens"], 5);
    assert!(matches!(
        c.endpoint.headers[1].value,
        HeaderValue::Secret(_)
    ));
    assert_eq!(c.load.arrival, Arrival::Gamma { smoothness: 0.5 });
    assert_eq!(c.goodput.len(), 2);
    assert_eq!(c.random_seed, 7);
    let text = serde_json::to_string(&c).unwrap();
    assert!(
        !text.contains("sk-1") && !text.contains("Bearer x"),
        "{text}"
    );
    assert!(
        c.cli_command.contains("--api-key '<redacted>'"),
        "{}",
        c.cli_command
    );
    assert!(
        c.cli_command.contains("Authorization:<redacted>"),
        "{}",
        c.cli_command
    );
}

#[test]
fn a_url_with_the_request_path_is_cut_back_to_its_base() {
    let cases = [
        ("localhost:8000", None, "http://localhost:8000"),
        ("http://h:8000/v1/chat/completions", None, "http://h:8000"),
        ("https://h/llm/v1/chat/completions/", None, "https://h/llm"),
        ("http://h:8000/v1", None, "http://h:8000"),
        ("http://h/v1", Some("completions"), "http://h"),
        ("http://h/v1/completions", Some("completions"), "http://h"),
        // Only the whole path, or a trailing /v1 before a /v1/ path, is taken off.
        ("http://h/v1/chat", None, "http://h/v1/chat"),
        ("http://h/gateway", None, "http://h/gateway"),
        ("http://h/v1", None, "http://h"),
    ];
    for (url, kind, base) in cases {
        let mut args = vec!["-m", "m", "-u", url];
        if let Some(kind) = kind {
            args.extend(["--endpoint-type", kind]);
        }
        let c = parse(&args).unwrap();
        assert_eq!(c.endpoint.urls, [base], "{url}");
    }
    let custom = parse(&["-m", "m", "-u", "http://h/v1", "--endpoint", "/generate"]).unwrap();
    assert_eq!(custom.endpoint.urls, ["http://h/v1"]);
}

#[test]
fn optuna_sampler_picks_the_planner_and_needs_optuna() {
    use crate::settings::PlannerKind;
    let space = ["-m", "m", "--search-space", "concurrency:1,64:int"];
    let planner = |extra: &[&str]| {
        let mut args = space.to_vec();
        args.extend([
            "--search-max-iterations",
            "10",
            "--search-metric",
            "output_token_throughput",
            "--search-direction",
            "maximize",
        ]);
        args.extend(extra);
        parse(&args).map(|c| c.search.unwrap().planner)
    };
    assert_eq!(planner(&[]).unwrap(), PlannerKind::Bayesian);
    assert_eq!(
        planner(&["--search-planner", "optuna"]).unwrap(),
        PlannerKind::Bayesian
    );
    assert_eq!(
        planner(&["--search-planner", "optuna", "--optuna-sampler", "tpe"]).unwrap(),
        PlannerKind::Tpe
    );
    assert_eq!(
        planner(&["--search-planner", "optuna", "--optuna-sampler", "gp"]).unwrap(),
        PlannerKind::Bayesian
    );
    let err = planner(&["--optuna-sampler", "tpe"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("--search-planner optuna"), "{err}");
    let err = planner(&[
        "--search-planner",
        "optuna",
        "--optuna-sampler",
        "tpe",
        "--search-initial-points",
        "10",
    ])
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("--search-initial-points (10) must be below"),
        "{err}"
    );
}

#[test]
fn goodput_targets_on_unmeasured_metrics_are_ignored() {
    let targets = |extra: &[&str]| {
        let mut args = vec![
            "-m",
            "m",
            "--goodput",
            "time_to_first_token:100 request_latency:900 e2e_output_token_throughput:5",
        ];
        args.extend(extra);
        let c = parse(&args).unwrap();
        c.goodput.iter().map(|t| t.tag.clone()).collect::<Vec<_>>()
    };
    assert_eq!(
        targets(&["--streaming"]),
        [
            "time_to_first_token",
            "request_latency",
            "e2e_output_token_throughput"
        ]
    );
    assert_eq!(
        targets(&[]),
        ["request_latency", "e2e_output_token_throughput"]
    );
    assert_eq!(
        targets(&["--endpoint-type", "embeddings"]),
        ["request_latency"]
    );
}

#[test]
fn recipe_grids_take_the_sweep_options() {
    let c = parse(&[
        "-m",
        "m",
        "--search-recipe",
        "concurrency-ramp",
        "--parameter-sweep-mode",
        "independent",
        "--parameter-sweep-cooldown-seconds",
        "2",
        "--parameter-sweep-same-seed",
    ])
    .unwrap();
    let sweep = c.sweep.unwrap();
    assert_eq!(
        (sweep.mode, sweep.cooldown_secs, sweep.same_seed),
        (SweepMode::Independent, 2.0, true)
    );
}

#[test]
fn grace_period_may_be_infinite() {
    let c = parse(&["-m", "m", "--benchmark-grace-period", "inf"]).unwrap();
    assert_eq!(c.load.grace_period_secs, f64::MAX);
    let json = serde_json::to_string(&c.load).unwrap();
    let back: crate::settings::LoadConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back.grace_period_secs, f64::MAX, "{json}");
    let err = parse(&["-m", "m", "--benchmark-grace-period", "NaN"]).unwrap_err();
    assert!(
        err.to_string().contains("--benchmark-grace-period"),
        "{err}"
    );
}

#[test]
fn list_values_may_have_spaces_and_name_what_is_wrong() {
    let c = parse(&[
        "-m",
        "m",
        "--concurrency",
        "10, 20",
        "--request-rate",
        " 2.5,5",
    ])
    .unwrap();
    let sweep = c.sweep.unwrap();
    assert_eq!(sweep.params[0].values.len(), 2);
    assert_eq!(sweep.params[1].values.len(), 2);
    for (arg, needle) in [
        ("--concurrency=-5,10", "must be at least 1, got -5"),
        ("--concurrency=0,10", "must be at least 1, got 0"),
        ("--concurrency=ten", "expected a whole number, got \"ten\""),
        ("--concurrency=99999999999", "too large"),
        ("--request-rate=5,x", "expected a number, got \"x\""),
    ] {
        let err = parse(&["-m", "m", arg]).unwrap_err().to_string();
        let flag = arg.split('=').next().unwrap();
        assert!(err.contains(needle), "{arg}: {err}");
        assert!(err.contains(flag), "{arg}: {err}");
    }
}

#[test]
fn lists_become_sweeps_with_a_consistent_seed() {
    let c = parse(&[
        "-m",
        "m",
        "--concurrency",
        "4,1",
        "--isl",
        "128,512",
        "--osl",
        "64",
    ])
    .unwrap();
    let sweep = c.sweep.unwrap();
    let params: Vec<_> = sweep
        .params
        .iter()
        .map(|p| (p.param, p.values.clone()))
        .collect();
    assert_eq!(
        params,
        [
            (Param::Isl, vec![128.0, 512.0]),
            (Param::Concurrency, vec![4.0, 1.0])
        ],
        "canonical order, values as given"
    );
    assert_eq!(c.random_seed, 42);
    assert_eq!(
        c.load.concurrency,
        Some(4),
        "the base takes the first value"
    );
    let c = parse(&["-m", "m", "--num-profile-runs", "3", "--random-seed", "9"]).unwrap();
    assert_eq!((c.multi_run.num_runs, c.random_seed), (3, 9));
    assert!(c.sweep.is_none());
    let c = parse(&[
        "-m",
        "m",
        "--num-profile-runs",
        "3",
        "--set-consistent-seed",
        "false",
    ])
    .unwrap();
    assert_eq!(c.multi_run.num_runs, 3);
}

#[test]
fn sim_picks_the_preset_model_and_builtin_tokenizer() {
    let c = parse(&["--sim"]).unwrap();
    assert_eq!(c.models, ["llama-3.1-8b-instruct-sim"]);
    assert!(c.endpoint.urls.is_empty());
    assert_eq!(c.sim.unwrap().preset, "llama-8b-h100");
    let c = parse(&["--sim", "fixed", "-m", "org/name"]).unwrap();
    assert_eq!(
        c.tokenizer,
        TokenizerSpec::Builtin {
            encoding: Encoding::O200kBase
        }
    );
}

/// Each case fails to resolve with a message that contains its needle.
fn assert_rejected(cases: &[(&[&str], &str)]) {
    for (args, needle) in cases {
        let err = parse(args).unwrap_err().to_string();
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn bad_counts_lists_and_sweeps_name_their_flag() {
    assert_rejected(&[
        (&[], "--model is required"),
        (
            &["-m", "m", "--concurrency", "0"],
            "'--concurrency <CONCURRENCY>': must be at least 1",
        ),
        (
            &["-m", "m", "--concurrency", "1,0"],
            "--concurrency <CONCURRENCY>': must be at least 1, got 0",
        ),
        (
            &["-m", "m", "--concurrency", "1,2,1"],
            "--concurrency: value 1 appears twice",
        ),
        (
            &["-m", "m", "--request-rate", "1,-2"],
            "--request-rate: every sweep value",
        ),
        (
            &[
                "-m",
                "m",
                "--concurrency",
                "1,2",
                "--isl",
                "1,2,3",
                "--sweep-type",
                "zip",
            ],
            "same number of values",
        ),
        (
            &["-m", "m", "--concurrency", "1,2", "--ui", "dashboard"],
            "not supported with parameter sweeps",
        ),
        (
            &["-m", "m", "--num-profile-runs", "11"],
            "--num-profile-runs must be between 1 and 10",
        ),
        (
            &["-m", "m", "--num-profile-runs", "0"],
            "--num-profile-runs",
        ),
        (
            &["-m", "m", "--confidence-level", "1"],
            "--confidence-level",
        ),
        (
            &["-m", "m", "--profile-run-cooldown-seconds", "1e18"],
            "--profile-run-cooldown-seconds",
        ),
        (
            &[
                "-m",
                "m",
                "--parameter-sweep-cooldown-seconds",
                "-1",
                "--concurrency",
                "1,2",
            ],
            "--parameter-sweep-cooldown-seconds",
        ),
        (
            &["-m", "m", "--request-count", "0"],
            "'--request-count <REQUEST_COUNT>': must be at least 1",
        ),
        (
            &["-m", "m", "--request-rate", "0"],
            "--request-rate must be a positive",
        ),
        (
            &["-m", "m", "--request-rate", "nan"],
            "--request-rate must be a positive",
        ),
        (
            &["-m", "m", "--benchmark-duration", "-1"],
            "--benchmark-duration must be",
        ),
        (
            &["-m", "m", "--isl", "0"],
            "'--isl <ISL>': must be at least 1",
        ),
    ]);
}

#[test]
fn bad_endpoint_input_and_load_values_name_their_flag() {
    assert_rejected(&[
        (
            &["-m", "m", "--osl", "0"],
            "'--osl <OSL>': must be at least 1",
        ),
        (&["-m", "m", "--isl-stddev", "-1"], "--isl-stddev must be"),
        (
            &["-m", "m", "--request-timeout-seconds", "0"],
            "--request-timeout-seconds",
        ),
        (&["-m", "m", "-u", "ftp://x"], "--url: unsupported scheme"),
        (&["-m", "m", "-H", "novalue"], "--header"),
        (&["-m", "m", "--extra-inputs", "nocolon"], "--extra-inputs"),
        (
            &["-m", "m", "--goodput", "ttft:5"],
            "--goodput: unknown metric",
        ),
        (
            &["-m", "m", "--goodput", "time_to_first_token:x"],
            "--goodput time_to_first_token",
        ),
        (&["--sim", "nope"], "--sim: unknown preset"),
        (&["--sim", "-u", "localhost:1"], "--sim and --url conflict"),
        (
            &["-m", "m", "--sim-speedup", "2"],
            "--sim-speedup only applies",
        ),
        (
            &["-m", "m", "--arrival-pattern", "constant"],
            "needs --request-rate",
        ),
        (
            &[
                "-m",
                "m",
                "--request-rate",
                "5",
                "--arrival-pattern",
                "poisson",
                "--arrival-smoothness",
                "2",
            ],
            "gamma",
        ),
        (
            &["-m", "m", "--input-file", "/nonexistent.jsonl"],
            "--input-file",
        ),
        (
            &["-m", "m", "--custom-dataset-type", "single_turn"],
            "needs --input-file",
        ),
        (&["-m", "m", "--fixed-schedule"], "--fixed-schedule"),
        (
            &["-m", "m", "--num-dataset-entries", "0"],
            "--num-dataset-entries",
        ),
    ]);
}

#[test]
fn bad_phase_session_and_unsupported_flags_are_named() {
    assert_rejected(&[
        (&["-m", "m", "--warmup-duration", "0"], "--warmup-duration"),
        (
            &["-m", "m", "--num-sessions", "0"],
            "--num-sessions must be at least 1",
        ),
        (
            &["-m", "m", "--session-turn-delay-mean=-5"],
            "--session-turn-delay-mean must be zero or a positive number",
        ),
        (
            &["-m", "m", "--prompt-batch-size", "0"],
            "--prompt-batch-size must be at least 1",
        ),
        (
            &[
                "-m",
                "m",
                "--warmup-request-count",
                "5",
                "--warmup-request-rate",
                "0",
            ],
            "--warmup-request-rate must be a positive number",
        ),
        (
            &["-m", "m", "--num-prefix-prompts", "3"],
            "--num-prefix-prompts needs --prefix-prompt-length",
        ),
        (
            &["-m", "m", "--public-dataset", "mmstar"],
            "--public-dataset mmstar is not supported here",
        ),
        (
            &["-m", "m", "--optuna-terminator", "regret"],
            "--optuna-terminator is a stopping rule of --search-planner optuna",
        ),
        (
            &["-m", "m", "--profile-export-file", "inputs"],
            "colliding with inputs.json",
        ),
        (
            &[
                "-m",
                "m",
                "--search-recipe",
                "concurrency-ramp",
                "--bo-constraint-mode",
                "eic",
            ],
            "mutually exclusive with --bo-constraint-mode",
        ),
        (
            &["-m", "m", "--convergence-metric", "request_latency"],
            "needs --num-profile-runs of at least 2",
        ),
        (
            &[
                "-m",
                "m",
                "--num-profile-runs",
                "3",
                "--convergence-mode",
                "cv",
            ],
            "--convergence-mode needs --convergence-metric",
        ),
        (
            &[
                "-m",
                "m",
                "--num-profile-runs",
                "3",
                "--convergence-metric",
                "request_latency",
                "--convergence-threshold",
                "0",
            ],
            "--convergence-threshold must be between 0 and 1",
        ),
        (
            &[
                "-m",
                "m",
                "--num-profile-runs",
                "3",
                "--convergence-metric",
                "request_latency",
                "--convergence-min-runs",
                "1",
            ],
            "--convergence-min-runs must be between 2 and --num-profile-runs (3)",
        ),
        (
            &[
                "-m",
                "m",
                "--num-profile-runs",
                "3",
                "--convergence-metric",
                "request_latency",
                "--concurrency",
                "1,2",
            ],
            "add --parameter-sweep-mode independent",
        ),
        (
            &[
                "-m",
                "m",
                "--num-profile-runs",
                "3",
                "--convergence-metric",
                "request_latency",
                "--convergence-mode",
                "distribution",
                "--export-level",
                "summary",
            ],
            "--export-level summary",
        ),
    ]);
}
