//! The floor plan of `crates/aiperf/src`, enforced: every module imports only modules below it
//! in [`LAYERS`], no source file outgrows [`MAX_FILE_LINES`], no function outgrows
//! [`MAX_FN_LINES`] unless a comment right above it says why it must (`// Long: …`), only `ui`
//! writes to the terminal and only `config` reads the environment. ARCHITECTURE.md explains
//! the layers; this list is the one that counts.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The top-level modules, from the top (entry points) to the bottom (plain data). A module
/// may use only the modules after it.
const LAYERS: &[&str] = &[
    // Entry points: one module per subcommand.
    "commands",
    "logging",
    // Flags become settings and a plan.
    "config",
    "cli",
    // Drivers: what runs the benchmarks of a plan.
    "plot",
    "kube",
    "merge",
    "search",
    "sweep",
    "recipes",
    "speed_bench",
    "trace",
    // Run one benchmark.
    "bench",
    "ui",
    "telemetry",
    // Records, metrics, exports.
    "export",
    "audit",
    "collector",
    "loadgen",
    "metrics",
    "client",
    "endpoints",
    "dataset",
    "tokenizer",
    "shard",
    "record",
    // Plain data every layer may read.
    "settings",
    "error",
    // The running benchmark's log file, written to by the logger.
    "logfile",
];

/// Lines of a source file, tests excluded.
const MAX_FILE_LINES: usize = 800;
/// Lines of a function.
const MAX_FN_LINES: usize = 150;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`None`: the crate root).
fn module_of(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(src()).unwrap();
    let first = rel.components().next()?.as_os_str().to_string_lossy();
    let name = first.trim_end_matches(".rs").to_owned();
    (!matches!(name.as_str(), "lib" | "main")).then_some(name)
}

/// The code of a file without its test modules and comments.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| match l.trim_start().starts_with("//") {
            true => "",
            false => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules `code` refers to through `crate::`.
fn references(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a, b::c};`
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                out.insert(name);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            out.insert(name);
        }
    }
    // `crate::UsageError` and the like are re-exports of the bottom layer.
    out.retain(|n| n.starts_with(|c: char| c.is_ascii_lowercase()));
    out
}

#[test]
fn modules_import_only_the_layers_below() {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    let rank = |m: &str| LAYERS.iter().position(|l| *l == m);
    let mut wrong = Vec::new();
    let mut modules = BTreeSet::new();
    for file in &files {
        let Some(module) = module_of(file) else {
            continue;
        };
        modules.insert(module.clone());
        let Some(own) = rank(&module) else {
            wrong.push(format!("{module}: not in LAYERS (add it where it belongs)"));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for used in references(&code(&text)) {
            if used == module {
                continue;
            }
            match rank(&used) {
                Some(r) if r > own => {}
                Some(_) => wrong.push(format!(
                    "{}: {module} uses {used}, which is above it",
                    file.strip_prefix(src()).unwrap().display()
                )),
                None => wrong.push(format!(
                    "{}: {module} uses {used}, which is not in LAYERS",
                    file.strip_prefix(src()).unwrap().display()
                )),
            }
        }
    }
    for layer in LAYERS {
        if !modules.contains(*layer) {
            wrong.push(format!("LAYERS names {layer}, which is no module"));
        }
    }
    assert!(
        wrong.is_empty(),
        "the floor plan is broken:\n{}",
        wrong.join("\n")
    );
}

/// Files that may draw on the terminal: the ui, and the process's own shell.
const TERMINAL: &[&str] = &["ui/", "main.rs", "error.rs", "logging.rs"];

#[test]
fn only_the_ui_draws_on_the_terminal() {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    let mut wrong = Vec::new();
    for file in &files {
        let name = file.strip_prefix(src()).unwrap().display().to_string();
        if TERMINAL.iter().any(|t| name.starts_with(t)) {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        for (i, line) in code(&text).lines().enumerate() {
            let writes = [
                "std::io::stdout()",
                "std::io::stderr()",
                "println!",
                "eprintln!",
            ]
            .iter()
            .any(|w| line.contains(w));
            if writes && !line.contains("is_terminal") {
                wrong.push(format!("{name}:{}: {}", i + 1, line.trim()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "terminal output outside ui/ (hand it to crate::ui instead):\n{}",
        wrong.join("\n")
    );
}

/// Settings come from flags and the environment in one place: `config`.
#[test]
fn only_config_reads_the_environment() {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    let mut wrong = Vec::new();
    for file in &files {
        let name = file.strip_prefix(src()).unwrap().display().to_string();
        if name.starts_with("config/") {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        for (i, line) in code(&text).lines().enumerate() {
            if line.contains("env::var") {
                wrong.push(format!("{name}:{}: {}", i + 1, line.trim()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the environment read outside config/ (resolve it into the settings):\n{}",
        wrong.join("\n")
    );
}

/// Lines of each function in `code`, by brace matching from its `fn` line, with whether the
/// line above says why it is long.
fn functions(code: &str, original: &str) -> Vec<(String, usize, usize, bool)> {
    let lines: Vec<&str> = code.lines().collect();
    let originals: Vec<&str> = original.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let after_vis = trimmed
            .strip_prefix("pub(crate) ")
            .or_else(|| trimmed.strip_prefix("pub(super) "))
            .or_else(|| trimmed.strip_prefix("pub "))
            .unwrap_or(trimmed);
        let after_async = after_vis.strip_prefix("async ").unwrap_or(after_vis);
        let Some(rest) = after_async.strip_prefix("fn ") else {
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let (mut depth, mut started) = (0i64, false);
        for (j, l) in lines.iter().enumerate().skip(i) {
            depth += l.matches('{').count() as i64 - l.matches('}').count() as i64;
            started |= l.contains('{');
            if started && depth <= 0 {
                let explained = (0..i)
                    .rev()
                    .map(|k| originals.get(k).copied().unwrap_or("").trim())
                    .take_while(|l| l.starts_with("//") || l.starts_with("#["))
                    .any(|l| l.starts_with("// Long:"));
                out.push((name, i + 1, j - i + 1, explained));
                break;
            }
            if !started && l.trim_end().ends_with(';') {
                break;
            }
        }
    }
    out
}

#[test]
fn files_and_functions_stay_readable() {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    let mut wrong = Vec::new();
    for file in &files {
        // A module's tests in a file of their own.
        if file.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        let without_tests = match text.find("#[cfg(test)]") {
            Some(i) => &text[..i],
            None => &text,
        };
        let name = file.strip_prefix(src()).unwrap().display().to_string();
        let n = without_tests.lines().count();
        if n > MAX_FILE_LINES {
            wrong.push(format!("{name}: {n} lines (split it by concern)"));
        }
        for (f, line, len, explained) in functions(&code(&text), without_tests) {
            if len > MAX_FN_LINES && !explained {
                wrong.push(format!(
                    "{name}:{line}: fn {f} is {len} lines (split it, or say why with a `// Long:` comment above it)"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
