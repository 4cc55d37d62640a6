//! `aiperf profile --config FILE`: the file's flags go before the command line's, so that
//! every flag given on the command line wins (the file's value of that option is dropped).
//! The command line is parsed once alone (to find the file and the flags it gives), then
//! again with the file's flags in front.

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, Command, CommandFactory};

use super::{Files, Flag, Loaded, load};
use crate::cli::{Cli, Command as Sub};

/// Command-line flags the Python AIPerf refuses next to `--config` (they would replace what
/// the file declares, or change nothing), refused here as well.
const NOT_WITH_CONFIG: [&str; 26] = [
    "public-dataset",
    "hf-weka-dataset",
    "sweep-type",
    "no-fixed-schedule",
    "concurrency-min",
    "concurrency-max",
    "concurrency-steps",
    "convergence-mode",
    "convergence-stat",
    "degradation-metric-tag",
    "degradation-stat",
    "e2e-sla-ms",
    "isl-min",
    "isl-max",
    "isl-steps",
    "itl-sla-ms",
    "osl-min",
    "osl-max",
    "osl-steps",
    "parameter-sweep-cooldown-seconds",
    "parameter-sweep-mode",
    "parameter-sweep-same-seed",
    "search-style",
    "tpot-sla-ms",
    "ttft-sla-ms",
    "variant",
];

/// [`Cli::parse_command_line`], with `profile --config FILE` read and merged.
pub fn parse_command_line<I, T>(argv: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let argv: Vec<OsString> = argv.into_iter().map(Into::into).collect();
    let first = Cli::parse_command_line(argv.clone())?;
    let Sub::Profile(args) = &first.command else {
        return Ok(first);
    };
    let Some(path) = args.config_file.config.clone() else {
        return Ok(first);
    };
    let given = args.given.clone();
    let loaded = load(&path, Files::Write).map_err(|e| usage(&e.0))?;
    for warning in &loaded.warnings {
        crate::ui::console::notice(&format!("warning: {}: {warning}", path.display()));
    }
    let command = Cli::command();
    let profile = command
        .find_subcommand("profile")
        .ok_or_else(|| usage("profile: no such command"))?;
    refuse_with_config(&given, &loaded)?;
    let flags = file_flags(profile, &loaded, &given)?;
    let at = argv
        .iter()
        .position(|a| a.to_str() == Some("profile"))
        .ok_or_else(|| usage("profile: not found on the command line"))?;
    let mut merged: Vec<OsString> = argv[..=at].to_vec();
    merged.extend(flags.iter().flat_map(Flag::tokens).map(OsString::from));
    merged.extend(argv[at + 1..].iter().cloned());
    let mut cli = Cli::parse_command_line(merged).map_err(|e| in_file(e, &loaded))?;
    cli.argv = first.argv;
    if let Sub::Profile(args) = &mut cli.command {
        args.given = given;
    }
    Ok(cli)
}

/// Every flag of the file, checked to exist here, without those the command line gives.
pub(super) fn file_flags(
    profile: &Command,
    loaded: &Loaded,
    given: &[String],
) -> Result<Vec<Flag>, clap::Error> {
    let mut out = Vec::new();
    for flag in &loaded.flags {
        let Some(arg) = find(profile, &flag.name) else {
            return Err(usage(&format!(
                "{}:{}: {}: not supported here (it is the Python AIPerf's --{}, which this tool \
                 does not offer)",
                loaded.path.display(),
                flag.line,
                flag.key,
                flag.name
            )));
        };
        let long = arg.get_long().unwrap_or(&flag.name);
        let negation = long.strip_prefix("no-").map_or_else(
            || format!("--no-{long}"),
            |positive| format!("--{positive}"),
        );
        if given
            .iter()
            .any(|g| *g == format!("--{long}") || *g == negation)
        {
            continue;
        }
        // The built-in simulator is the server: it stands in for the file's URLs.
        if long == "url" && given.iter().any(|g| g == "--sim") {
            continue;
        }
        out.push(flag.clone());
    }
    Ok(out)
}

/// The argument `--name` names (by its long name or an alias).
fn find<'a>(command: &'a Command, name: &str) -> Option<&'a Arg> {
    command.get_arguments().find(|a| {
        a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|al| al.contains(&name))
    })
}

/// The command line's flags that cannot go with a file, named all at once.
fn refuse_with_config(given: &[String], loaded: &Loaded) -> Result<(), clap::Error> {
    let file_dataset = loaded.flags.iter().any(|f| f.name == "input-file");
    let mut refused: Vec<String> = given
        .iter()
        .filter(|g| {
            let long = g.trim_start_matches("--");
            NOT_WITH_CONFIG.contains(&long)
                || (!file_dataset && (long == "input-file" || long == "custom-dataset-type"))
        })
        .cloned()
        .collect();
    refused.sort();
    if refused.is_empty() {
        return Ok(());
    }
    Err(usage(&format!(
        "these flags cannot be combined with --config and would otherwise be ignored: {}. Set \
         the equivalent values in the YAML file ({}), or drop --config and give the run \
         entirely on the command line (--input-file and --custom-dataset-type apply only to a \
         file whose dataset is `type: file`)",
        refused.join(", "),
        loaded.path.display()
    )))
}

/// Checks a loaded file as `aiperf profile --config FILE` would use it: its flags parsed
/// and resolved into a plan. The message names the file (and the key, for flag errors).
pub fn check(loaded: &Loaded) -> Result<(), String> {
    let strip = |e: clap::Error| {
        e.render()
            .to_string()
            .trim_start_matches("error: ")
            .trim_end()
            .to_owned()
    };
    let command = Cli::command();
    let profile = command
        .find_subcommand("profile")
        .ok_or_else(|| "profile: no such command".to_owned())?;
    let flags = file_flags(profile, loaded, &[]).map_err(strip)?;
    let mut argv = vec!["aiperf".to_owned(), "profile".to_owned()];
    argv.extend(flags.iter().flat_map(Flag::tokens));
    let cli = Cli::parse_command_line(argv).map_err(|e| strip(in_file(e, loaded)))?;
    if let Sub::Profile(args) = &cli.command {
        crate::config::plan(args, &cli.argv)
            .map_err(|e| format!("{}: {}", loaded.path.display(), e.0))?;
    }
    Ok(())
}

fn usage(message: &str) -> clap::Error {
    clap::Error::raw(ErrorKind::InvalidValue, format!("{message}\n"))
}

/// A clap error about a flag that came from the file, told as the file's key and line.
fn in_file(error: clap::Error, loaded: &Loaded) -> clap::Error {
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        return error;
    }
    let Some(ContextValue::String(arg)) = error.get(ContextKind::InvalidArg) else {
        return error;
    };
    let long = arg
        .trim_start_matches("--")
        .split([' ', '=', '<'])
        .next()
        .unwrap_or_default()
        .to_owned();
    let Some(flag) = loaded.flags.iter().find(|f| f.name == long) else {
        return error;
    };
    let text = error.render().to_string();
    let reason = text
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .to_owned();
    usage(&format!(
        "{}:{}: {}: {reason}",
        loaded.path.display(),
        flag.line,
        flag.key
    ))
}
