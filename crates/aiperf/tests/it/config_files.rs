//! YAML configuration files: `aiperf profile --config FILE` on the simulator (the file's
//! settings in the run's artifacts, the command line over the file, sweeps), the errors a
//! bad file gets, and `aiperf config init|validate|expand`.

use std::path::Path;

use serde_json::Value;

use crate::common::{aiperf, run, stderr, stdout};

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn records(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("profile_export.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Runs `aiperf profile --config FILE --sim ARGS` into `out`, which must succeed.
#[track_caller]
fn profile_file(file: &str, out: &Path, args: &[&str]) {
    let mut all = vec![
        "profile",
        "--config",
        file,
        "--sim",
        "--sim-speedup",
        "50",
        "--ui",
        "none",
        "--artifact-dir",
        out.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let output = run(&all);
    assert!(output.status.success(), "{all:?}: {}", stderr(&output));
}

const BASE: &str = r#"schemaVersion: "2.0"
randomSeed: 7
benchmark:
  endpoint:
    streaming: true
    extra: {ignore_eos: true}
  dataset:
    type: synthetic
    entries: 12
    prompts: {isl: 48, osl: 6}
  phases:
    - name: warmup
      type: concurrency
      concurrency: 1
      requests: 2
    - name: profiling
      type: concurrency
      concurrency: 3
      requests: 9
"#;

#[test]
fn the_file_settings_reach_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "bench.yaml", BASE);
    let out = dir.path().join("out");
    profile_file(&file, &out, &[]);
    let recs = records(&out);
    assert_eq!(recs.len(), 9, "requests: 9 of the profiling phase");
    let config = json(&out.join("run_config.json"));
    let settings = &config["aiperf_config"];
    assert_eq!(settings["config_file"], Value::String(file));
    assert_eq!(settings["random_seed"], 7);
    let inputs = json(&out.join("inputs.json"));
    let payload = &inputs["data"][0]["payloads"][0];
    assert_eq!(payload["ignore_eos"], true, "endpoint.extra: {payload}");
    assert_eq!(payload["stream"], true, "endpoint.streaming: {payload}");
    assert_eq!(
        payload["max_completion_tokens"], 6,
        "prompts.osl: {payload}"
    );
}

#[test]
fn the_command_line_overrides_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "bench.yaml", BASE);
    let out = dir.path().join("out");
    profile_file(&file, &out, &["--request-count", "5", "--osl", "4"]);
    assert_eq!(records(&out).len(), 5);
    let inputs = json(&out.join("inputs.json"));
    assert_eq!(inputs["data"][0]["payloads"][0]["max_completion_tokens"], 4);
}

#[test]
fn environment_references_and_variables() {
    let dir = tempfile::tempdir().unwrap();
    let text = BASE
        .replace(
            "randomSeed: 7",
            "randomSeed: 7\nvariables: {base: 2, count: \"{{ base * 3 }}\"}",
        )
        .replace("      requests: 9", "      requests: \"{{ count }}\"")
        .replace("osl: 6", "osl: \"${TEST_OSL:6}\"");
    let file = write(dir.path(), "bench.yaml", &text);
    let out = dir.path().join("out");
    let output = aiperf()
        .args([
            "profile",
            "--config",
            &file,
            "--sim",
            "--sim-speedup",
            "50",
            "--ui",
            "none",
        ])
        .args(["--artifact-dir", out.to_str().unwrap()])
        .env("TEST_OSL", "5")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(records(&out).len(), 6, "requests: {{{{ base * 3 }}}}");
    let inputs = json(&out.join("inputs.json"));
    assert_eq!(
        inputs["data"][0]["payloads"][0]["max_completion_tokens"], 5,
        "${{TEST_OSL}}"
    );
}

#[test]
fn inline_records_are_the_prompts() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"
benchmark:
  dataset:
    type: file
    format: single_turn
    records:
      - {text: "first inline prompt"}
      - {text: "second inline prompt"}
  phases: {type: concurrency, concurrency: 1, requests: 2}
"#;
    let file = write(dir.path(), "inline.yaml", text);
    let out = dir.path().join("out");
    profile_file(&file, &out, &[]);
    let inputs = std::fs::read_to_string(out.join("inputs.json")).unwrap();
    assert!(inputs.contains("first inline prompt"), "{inputs}");
    assert!(inputs.contains("second inline prompt"), "{inputs}");
}

#[test]
fn a_sweep_in_the_file_runs_every_value() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{BASE}sweep:\n  type: grid\n  parameters:\n    concurrency: [1, 2]\n    \
         datasets.default.prompts.osl: [4, 5]\n"
    );
    let file = write(dir.path(), "sweep.yaml", &text);
    let out = dir.path().join("out");
    profile_file(&file, &out, &["--request-count", "3"]);
    for (dir_name, osl) in [
        ("osl_4__concurrency_1", 4),
        ("osl_4__concurrency_2", 4),
        ("osl_5__concurrency_1", 5),
        ("osl_5__concurrency_2", 5),
    ] {
        let run = out.join(dir_name);
        assert_eq!(records(&run).len(), 3, "{dir_name}");
        let inputs = json(&run.join("inputs.json"));
        assert_eq!(
            inputs["data"][0]["payloads"][0]["max_completion_tokens"], osl,
            "{dir_name}"
        );
    }
}

#[test]
fn scenarios_run_as_a_zip_of_their_values() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{BASE}sweep:\n  type: scenarios\n  runs:\n    - name: small\n      benchmark:\n        \
         phases: [{{name: profiling, concurrency: 1, requests: 2}}]\n    - name: big\n      \
         benchmark:\n        phases: [{{name: profiling, concurrency: 2, requests: 4}}]\n"
    );
    let file = write(dir.path(), "scenarios.yaml", &text);
    let expanded = run(&["config", "expand", &file]);
    assert!(expanded.status.success(), "{}", stderr(&expanded));
    assert!(
        stdout(&expanded).contains("[1] dir=big  label=big"),
        "{}",
        stdout(&expanded)
    );
    let out = dir.path().join("out");
    profile_file(&file, &out, &[]);
    let runs = std::fs::read_dir(&out).unwrap().count();
    assert!(runs >= 2, "two runs and the aggregate");
    let dirs: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let small = dirs
        .iter()
        .find(|d| d.contains("concurrency_1"))
        .expect("the small run");
    let big = dirs
        .iter()
        .find(|d| d.contains("concurrency_2"))
        .expect("the big run");
    assert_eq!(records(&out.join(small)).len(), 2);
    assert_eq!(records(&out.join(big)).len(), 4);
}

/// Runs `aiperf ARGS` and asserts exit status 2 and every `needle` on stderr.
#[track_caller]
fn fails_with(args: &[&str], needles: &[&str]) {
    let output = run(args);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
    for needle in needles {
        assert!(err.contains(needle), "{args:?}: no {needle:?} in: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn errors_name_the_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let typo = write(
        dir.path(),
        "bench.yaml",
        &BASE.replace("      concurrency: 3", "      concurency: 3"),
    );
    fails_with(
        &["profile", "--config", &typo, "--sim"],
        &[
            "bench.yaml:18: benchmark.phases[1].concurency: unknown key (did you mean 'concurrency'?)",
        ],
    );
    let env = write(
        dir.path(),
        "env.yaml",
        &BASE.replace("entries: 12", "entries: ${SURELY_UNSET_VAR_42}"),
    );
    fails_with(
        &["config", "validate", &env],
        &["env.yaml:9:", "SURELY_UNSET_VAR_42"],
    );
    let two = write(
        dir.path(),
        "two.yaml",
        &format!("{BASE}    - {{name: later, kind: profiling, type: concurrency, requests: 3}}\n"),
    );
    fails_with(
        &["profile", "-f", &two, "--sim"],
        &["benchmark.phases[2]", "a second profiling phase"],
    );
    let adaptive = write(
        dir.path(),
        "adaptive.yaml",
        &BASE.replace(
            "      requests: 9",
            "      requests: 9\n      adaptive_scale: true",
        ),
    );
    fails_with(
        &["config", "validate", &adaptive],
        &["adaptive_scale: not supported"],
    );
    let bad_value = write(
        dir.path(),
        "value.yaml",
        &BASE.replace("      concurrency: 3", "      concurrency: three"),
    );
    fails_with(
        &["config", "validate", &bad_value],
        &["value.yaml:18: benchmark.phases[1].concurrency: expected a whole number"],
    );
    let envelope = write(
        dir.path(),
        "envelope.yaml",
        &format!("{BASE}sweeps: {{}}\n"),
    );
    fails_with(
        &["config", "validate", &envelope],
        &["sweeps: unknown key (did you mean 'sweep'?)"],
    );
    fails_with(
        &[
            "profile",
            "--config",
            &typo.replace("bench", "missing"),
            "--sim",
        ],
        &["missing.yaml: configuration file not found"],
    );
    let clean = write(dir.path(), "clean.yaml", BASE);
    fails_with(
        &[
            "profile",
            "--config",
            &clean,
            "--sim",
            "--public-dataset",
            "sharegpt",
            "--sweep-type",
            "zip",
        ],
        &[
            "cannot be combined with --config",
            "--public-dataset",
            "--sweep-type",
        ],
    );
    let unsweepable = write(
        dir.path(),
        "sweep.yaml",
        &format!("{BASE}sweep:\n  parameters:\n    endpoint.streaming: [true, false]\n"),
    );
    fails_with(
        &["config", "validate", &unsweepable],
        &["sweep: the variations differ in", "--streaming"],
    );
}

#[test]
fn validate_warns_about_the_flat_shape() {
    let dir = tempfile::tempdir().unwrap();
    let flat = "phases: {type: concurrency, concurrency: 1, requests: 2}\nmodels: [m]\n";
    let file = write(dir.path(), "flat.yaml", flat);
    let output = run(&["config", "validate", &file]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("Warning:"), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("flat shape"),
        "{}",
        stderr(&output)
    );
    assert!(
        stdout(&output).contains("Configuration valid with 1 warning"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn expand_prints_the_variations() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{BASE}sweep:\n  type: zip\n  parameters:\n    concurrency: [1, 2]\n    rate: [5, 10]\n"
    );
    let text = text.replace(
        "      type: concurrency\n      concurrency: 3",
        "      type: poisson\n      rate: 3",
    );
    let file = write(dir.path(), "zip.yaml", &text);
    let output = run(&["config", "expand", &file]);
    let text_out = stdout(&output);
    assert!(
        text_out.starts_with("Sweep type: ZipSweep (2 variations)\n\n"),
        "{text_out}"
    );
    assert!(
        text_out.contains("[0] dir=concurrency_1__rate_5  label=phases.profiling.concurrency=1, phases.profiling.rate=5"),
        "{text_out}"
    );
    let output = run(&[
        "config", "expand", &file, "--format", "json", "--index", "1",
    ]);
    let doc: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(doc["sweep_type"], "ZipSweep");
    let v = &doc["variations"][0];
    assert_eq!(v["index"], 1);
    assert_eq!(v["values"]["phases.profiling.rate"], 10);
    assert!(
        v["benchmark"]["phases"].is_array(),
        "--index implies --full"
    );
    fails_with(
        &["config", "expand", &file, "-i", "5"],
        &["--index 5 out of range"],
    );
}

/// Every template's name, from `config init --list`.
fn template_names() -> Vec<String> {
    let output = run(&["config", "init", "--list"]);
    assert!(output.status.success());
    stdout(&output)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| {
            n.chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn init_lists_the_templates_by_category() {
    let names = template_names();
    assert_eq!(names.len(), 27, "{names:?}");
    let listing = stdout(&run(&[
        "config",
        "init",
        "--list",
        "--category",
        "Datasets",
    ]));
    for name in [
        "inline_dataset",
        "multi_turn_conversation",
        "public_dataset",
        "trace_replay",
    ] {
        assert!(listing.contains(name), "{listing}");
    }
    assert!(!listing.contains("minimal "), "{listing}");
    let found = stdout(&run(&["config", "init", "--search", "sweep"]));
    assert!(
        found.contains("sweep_with_plot") && !found.contains("latency_test"),
        "{found}"
    );
    fails_with(
        &["config", "init", "--template", "nope"],
        &["unknown template \"nope\""],
    );
}

#[test]
fn every_template_loads_and_maps() {
    let dir = tempfile::tempdir().unwrap();
    for name in template_names() {
        let path = dir.path().join(format!("{name}.yaml"));
        let output = run(&["config", "init", "-t", &name, "-o", path.to_str().unwrap()]);
        assert!(output.status.success(), "{name}: {}", stderr(&output));
        let output = run(&["config", "validate", path.to_str().unwrap()]);
        let err = stderr(&output);
        // A public dataset's local copy is not here; everything else must validate.
        let missing_copy = err.contains("nothing is downloaded here");
        assert!(output.status.success() || missing_copy, "{name}: {err}");
    }
}

#[test]
fn small_templates_run_on_the_simulator() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "minimal",
        "inline_dataset",
        "jinja2_variables",
        "trace_replay",
    ] {
        let path = dir.path().join(format!("{name}.yaml"));
        let output = run(&[
            "config",
            "init",
            "-t",
            name,
            "-m",
            "my-model",
            "-u",
            "http://127.0.0.1:9",
            "-o",
            path.to_str().unwrap(),
        ]);
        assert!(output.status.success(), "{name}: {}", stderr(&output));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("model: my-model") && text.contains("url: http://127.0.0.1:9"),
            "{text}"
        );
        let out = dir.path().join(name);
        let mut args = vec!["--request-count", "4", "--num-profile-runs", "1"];
        if name != "trace_replay" {
            args.extend(["--concurrency", "2", "--warmup-request-count", "1"]);
        }
        profile_file(path.to_str().unwrap(), &out, &args);
        let config = json(&out.join("run_config.json"));
        assert_eq!(config["aiperf_config"]["models"][0], "my-model", "{name}");
    }
}
