//! Every `profile` option of the Python AIPerf (its `profile --help`, kept as data in
//! `reference/profile_options.json`) parses here under each of its names, accepts each of its
//! choices in both spellings, and is either implemented — the entry names the test that checks
//! its effect — or accepted with a note saying why it does not apply, which a run prints.
//! The migration page lists them all.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use aiperf::cli::{Cli, Command};
use serde::Deserialize;

use crate::common::{profile, stderr};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefOption {
    group: String,
    names: Vec<String>,
    kind: Kind,
    #[serde(default)]
    choices: Vec<String>,
    /// Choices refused here, which `difference` explains.
    #[serde(default)]
    unsupported_choices: Vec<String>,
    /// Values to parse it with, when the kind's default sample does not fit.
    #[serde(default)]
    sample: Option<Vec<String>>,
    /// Other options it needs to be given with.
    #[serde(default)]
    with: Vec<String>,
    /// `FILE::TEST` (FILE relative to the crate): the test that checks what the option does.
    #[serde(default)]
    effect: Option<String>,
    /// For an option that does not apply here: text of the note a run prints.
    #[serde(default)]
    note: Option<String>,
    /// What differs from the Python AIPerf, for the migration page.
    #[serde(default)]
    difference: Option<String>,
    /// For an option refused in this setting (as the Python AIPerf refuses it outside the
    /// dataset it belongs to): text of the usage error a run gets.
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Bool,
    Value,
    List,
}

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn options() -> Vec<RefOption> {
    let path = crate_dir().join("tests/it/reference/profile_options.json");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap()
}

impl RefOption {
    /// The values each name is parsed with.
    fn sample(&self) -> Vec<String> {
        if let Some(sample) = &self.sample {
            return sample.clone();
        }
        match (self.kind, self.choices.first()) {
            (Kind::Bool, _) => vec![],
            (_, Some(choice)) => vec![choice.clone()],
            (Kind::Value, None) => vec!["1".into()],
            (Kind::List, None) => vec!["1".into(), "2".into()],
        }
    }

    /// `--no-x` names of a boolean are flags without a value.
    fn is_negation(name: &str) -> bool {
        name.starts_with("--no-") || name.contains("-no-")
    }
}

fn argv(option: &RefOption, name: &str, values: &[String]) -> Vec<String> {
    let mut argv: Vec<String> = ["aiperf", "profile", "--sim"].map(String::from).to_vec();
    argv.extend(option.with.iter().cloned());
    argv.push(name.to_owned());
    if !RefOption::is_negation(name) {
        argv.extend(values.iter().cloned());
    }
    argv
}

fn parse(argv: &[String]) -> Result<Box<aiperf::cli::profile::ProfileArgs>, String> {
    match Cli::parse_command_line(argv) {
        Ok(Cli {
            command: Command::Profile(args),
            ..
        }) => Ok(args),
        Ok(_) => Err("parsed as another command".into()),
        Err(e) => Err(e
            .render()
            .to_string()
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_default()
            .to_owned()),
    }
}

#[test]
fn every_reference_option_parses_under_each_name() {
    let mut failures = vec![];
    for option in options() {
        for name in &option.names {
            let argv = argv(&option, name, &option.sample());
            if let Err(e) = parse(&argv) {
                failures.push(format!("{}: {e}", argv[3..].join(" ")));
            }
        }
        if option.kind == Kind::Bool && !RefOption::is_negation(&option.names[0]) {
            for value in ["true", "false"] {
                let argv = argv(&option, &option.names[0], &[value.to_owned()]);
                if let Err(e) = parse(&argv) {
                    failures.push(format!("{}: {e}", argv[3..].join(" ")));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Each choice, spelt with `_` and with `-`, gets past the parser and is not the reason
/// resolution fails (an option may still need others to run).
#[test]
fn every_choice_is_accepted_in_both_spellings() {
    let mut failures = vec![];
    for option in options().iter().filter(|o| !o.choices.is_empty()) {
        if !option.unsupported_choices.is_empty() && option.difference.is_none() {
            failures.push(format!(
                "{}: unsupported choices need a difference",
                option.names[0]
            ));
        }
        let spellings: BTreeSet<String> = option
            .choices
            .iter()
            .filter(|c| !option.unsupported_choices.contains(c))
            .flat_map(|c| [c.replace('-', "_"), c.replace('_', "-")])
            .collect();
        for value in spellings {
            let argv = argv(option, &option.names[0], std::slice::from_ref(&value));
            match parse(&argv) {
                Err(e) => failures.push(format!("{}: {e}", argv[3..].join(" "))),
                Ok(args) => {
                    if let Err(e) = aiperf::config::resolve(&args, &argv)
                        && e.to_string().contains(&format!("'{value}'"))
                    {
                        failures.push(format!("{}: {e}", argv[3..].join(" ")));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The source of test `name` in `file`: from its `fn` to the next test or item.
fn test_source(file: &Path, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let start = text.find(&format!("fn {name}("))?;
    let rest = &text[start..];
    let end = [
        "#[test]",
        "\nfn ",
        "\n    fn ",
        "\npub(crate) fn ",
        "\nmod ",
    ]
    .iter()
    .filter_map(|marker| rest[1..].find(marker).map(|i| i + 1))
    .min()
    .unwrap_or(rest.len());
    Some(rest[..end].to_owned())
}

/// Every name, ours and the Python AIPerf's, of the option with one of `names`.
fn our_names(names: &[String]) -> Vec<String> {
    use clap::CommandFactory;
    let command = Cli::command();
    let profile = command.find_subcommand("profile").unwrap();
    let mut all = names.to_vec();
    for arg in profile.get_arguments() {
        let mut own: Vec<String> = arg
            .get_long_and_visible_aliases()
            .into_iter()
            .flatten()
            .chain(arg.get_all_aliases().into_iter().flatten())
            .map(|long| format!("--{long}"))
            .collect();
        own.extend(arg.get_short().map(|short| format!("-{short}")));
        if own.iter().any(|n| names.contains(n)) {
            all.extend(own);
        }
    }
    all
}

#[test]
fn every_option_is_implemented_with_a_test_or_noted() {
    let mut failures = vec![];
    for option in options() {
        let label = option.names.join(" ");
        match (&option.effect, &option.note, &option.refusal) {
            (Some(effect), None, None) => {
                let Some((file, name)) = effect.split_once("::") else {
                    failures.push(format!("{label}: effect {effect:?} is not FILE::TEST"));
                    continue;
                };
                match test_source(&crate_dir().join(file), name) {
                    None => failures.push(format!("{label}: no test {name} in {file}")),
                    Some(source) => {
                        let names = our_names(&option.names);
                        if !names.iter().any(|n| source.contains(&format!("\"{n}"))) {
                            failures.push(format!("{label}: {effect} does not use the option"));
                        }
                    }
                }
            }
            (None, Some(text), None) | (None, None, Some(text)) if !text.is_empty() => {}
            _ => failures.push(format!(
                "{label} ({}): needs an effect or a note",
                option.group
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// One run with every option that does not apply: it succeeds and says so for each.
#[test]
fn options_that_do_not_apply_say_so_in_a_run() {
    let noted: Vec<RefOption> = options().into_iter().filter(|o| o.note.is_some()).collect();
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = ["--sim", "--request-count", "2", "--concurrency", "1"]
        .map(String::from)
        .to_vec();
    for option in &noted {
        args.extend(option.with.iter().cloned());
        args.push(option.names[0].clone());
        if !RefOption::is_negation(&option.names[0]) {
            args.extend(option.sample());
        }
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = profile(dir.path(), &args);
    let err = stderr(&output);
    assert!(output.status.success(), "{args:?}: {err}");
    let missing: Vec<String> = noted
        .iter()
        .filter(|o| !err.contains(o.note.as_deref().unwrap()))
        .map(|o| format!("{}: {:?}", o.names[0], o.note))
        .collect();
    assert!(
        missing.is_empty(),
        "notes not printed:\n{}\nstderr:\n{err}",
        missing.join("\n")
    );
}

/// Each refused option, alone: a usage error that says why.
#[test]
fn refused_options_say_why() {
    for option in options().iter().filter(|o| o.refusal.is_some()) {
        let mut args: Vec<String> = ["profile", "--sim", "--request-count", "1"]
            .map(String::from)
            .to_vec();
        args.extend(option.with.iter().cloned());
        args.push(option.names[0].clone());
        if !RefOption::is_negation(&option.names[0]) {
            args.extend(option.sample());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        crate::common::assert_usage_error(&args, option.refusal.as_deref().unwrap());
    }
}

#[test]
fn the_migration_page_lists_every_option() {
    let path = crate_dir().join("../../docs/migration.md");
    let page = std::fs::read_to_string(&path).unwrap();
    let missing: Vec<String> = options()
        .into_iter()
        .flat_map(|o| o.names)
        .filter(|name| !page.contains(&format!("`{name}`")))
        .collect();
    assert!(missing.is_empty(), "docs/migration.md lacks {missing:?}");
}
