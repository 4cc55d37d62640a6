//! The Python AIPerf's command-line conventions, applied once to the `profile` command so
//! that commands copied from its documentation parse here unchanged:
//!
//! - a boolean flag also takes a value: `--streaming true`, `--streaming=false`;
//! - a boolean flag `--x` has the negation `--no-x` (unless `--no-x` is an option of its own);
//! - a choice accepts both spellings, `round_robin` and `round-robin`;
//! - a repeatable option takes several values after one flag: `-H A:1 B:2`, `--url A B`.
//!
//! clap has no setting for the last three across a whole command, so [`adapt`] rewrites the
//! argument definitions and [`normalize`] the argument list before clap parses it.

use std::ffi::OsString;

use clap::builder::BoolishValueParser;
use clap::{Arg, ArgAction, Command};

/// The subcommands whose options follow the Python AIPerf's conventions.
const SUBCOMMANDS: [&str; 1] = ["profile"];

/// Adapts the argument definitions of [`SUBCOMMANDS`]: boolean flags take an optional value,
/// repeatable options several values per flag.
pub fn adapt(command: Command) -> Command {
    SUBCOMMANDS.iter().fold(command, |command, name| {
        command.mut_subcommand(name, |sub| {
            let ids: Vec<_> = sub.get_arguments().map(|a| a.get_id().clone()).collect();
            ids.into_iter()
                .fold(sub, |sub, id| sub.mut_arg(id, adapt_arg))
        })
    })
}

fn adapt_arg(arg: Arg) -> Arg {
    match arg.get_action() {
        ArgAction::SetTrue if !arg.is_global_set() => {
            let id = arg.get_id().clone();
            // A later `--x` / `--no-x` wins, as in the Python AIPerf.
            arg.action(ArgAction::Set)
                .overrides_with(id)
                .num_args(0..=1)
                .require_equals(false)
                .value_parser(BoolishValueParser::new())
                .value_name("true|false")
                .default_value("false")
                .default_missing_value("true")
                .hide_default_value(true)
        }
        ArgAction::Append if arg.get_num_args().is_none() => arg.num_args(1..),
        _ => arg,
    }
}

/// Rewrites `--no-x` negations of boolean flags to `--x=false` and choice values spelt with
/// `_` or `-` to the spelling the option knows. Everything else passes through unchanged;
/// clap reports any remaining error.
pub fn normalize(command: &Command, argv: Vec<OsString>) -> Vec<OsString> {
    let Some(position) = argv
        .iter()
        .position(|a| SUBCOMMANDS.iter().any(|s| a.to_str() == Some(s)))
    else {
        return argv;
    };
    let Some(sub) = argv[position]
        .to_str()
        .and_then(|name| command.find_subcommand(name))
    else {
        return argv;
    };
    let mut out: Vec<OsString> = argv[..=position].to_vec();
    let mut rest = argv[position + 1..].iter().peekable();
    while let Some(token) = rest.next() {
        let Some(text) = token.to_str() else {
            out.push(token.clone());
            continue;
        };
        if text == "--" {
            out.push(token.clone());
            out.extend(rest.cloned());
            break;
        }
        let (flag, inline) = match text.split_once('=') {
            Some((flag, value)) if flag.starts_with('-') => (flag, Some(value)),
            _ => (text, None),
        };
        if let Some(positive) = negated_bool(sub, flag) {
            out.push(format!("--{positive}=false").into());
            continue;
        }
        // A global boolean flag (defined once for every command, so left as a plain flag):
        // its value or negation decides whether the flag is passed on at all.
        let global = |name: &str| {
            find_option(command, name)
                .filter(|a| matches!(a.get_action(), ArgAction::SetTrue | ArgAction::Count))
        };
        let negated = flag
            .strip_prefix("--no-")
            .filter(|_| find_option(sub, flag).is_none())
            .and_then(|positive| global(&format!("--{positive}")));
        if let Some(arg) = negated.or_else(|| global(flag)) {
            let value = if negated.is_some() {
                Some("false".to_owned())
            } else {
                let value = inline.map(str::to_owned).or_else(|| {
                    let next = rest.peek()?.to_str()?;
                    parse_bool(next).map(|_| next.to_owned())
                });
                if inline.is_none() && value.is_some() {
                    rest.next();
                }
                value
            };
            let long = format!("--{}", arg.get_long().unwrap_or_default());
            match value.as_deref().map(parse_bool) {
                None | Some(Some(true)) => out.push(long.into()),
                // The later one wins: earlier occurrences are taken back.
                Some(Some(false)) => out.retain(|t| {
                    find_option(command, &t.to_string_lossy())
                        .is_none_or(|a| a.get_id() != arg.get_id())
                }),
                // Not a boolean: passed on for clap to report.
                Some(None) => out.push(token.clone()),
            }
            continue;
        }
        let Some(arg) = find_option(sub, flag) else {
            out.push(token.clone());
            continue;
        };
        match inline {
            Some(value) => out.push(format!("{flag}={}", choice_spelling(arg, value)).into()),
            None => {
                out.push(token.clone());
                if arg.get_action().takes_values()
                    && let Some(next) = rest.peek()
                    && let Some(value) = next.to_str()
                    && !value.starts_with('-')
                {
                    out.push(choice_spelling(arg, value).into());
                    rest.next();
                }
            }
        }
    }
    out
}

/// A boolean spelt as clap's `BoolishValueParser` reads it.
fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "on" | "1" => Some(true),
        "false" | "no" | "n" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// The option a `--long` or `-s` token names, by its name or any alias.
fn find_option<'a>(command: &'a Command, flag: &str) -> Option<&'a Arg> {
    if let Some(long) = flag.strip_prefix("--") {
        command.get_arguments().find(|a| {
            a.get_long() == Some(long)
                || a.get_all_aliases()
                    .is_some_and(|aliases| aliases.contains(&long))
        })
    } else {
        let mut chars = flag.strip_prefix('-')?.chars();
        let (short, None) = (chars.next()?, chars.next()) else {
            return None;
        };
        command
            .get_arguments()
            .find(|a| a.get_short() == Some(short))
    }
}

/// For `--no-x` where `x` is a boolean flag and `--no-x` is not an option of its own: `x`.
fn negated_bool<'a>(command: &'a Command, flag: &str) -> Option<&'a str> {
    let positive = flag.strip_prefix("--no-")?;
    if find_option(command, flag).is_some() {
        return None;
    }
    let arg = find_option(command, &format!("--{positive}"))?;
    let choices: Vec<String> = arg
        .get_possible_values()
        .iter()
        .map(|c| c.get_name().to_owned())
        .collect();
    let is_bool = matches!(arg.get_action(), ArgAction::SetTrue)
        || (matches!(arg.get_action(), ArgAction::Set)
            && (arg
                .get_value_names()
                .is_some_and(|names| names.len() == 1 && names[0] == "true|false")
                || choices == ["true", "false"]));
    is_bool.then(|| arg.get_long()).flatten()
}

/// The value as the option spells it, when it only differs in `_` against `-`.
fn choice_spelling(arg: &Arg, value: &str) -> String {
    let choices = arg.get_possible_values();
    if choices.is_empty()
        || choices
            .iter()
            .any(|c| c.matches(value, arg.is_ignore_case_set()))
    {
        return value.to_owned();
    }
    [value.replace('_', "-"), value.replace('-', "_")]
        .into_iter()
        .find(|candidate| {
            choices
                .iter()
                .any(|c| c.matches(candidate, arg.is_ignore_case_set()))
        })
        .unwrap_or_else(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, ValueEnum};

    use super::*;
    use crate::cli::Cli;

    #[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
    enum Strategy {
        RoundRobin,
        Random,
    }

    fn command() -> Command {
        adapt(
            Command::new("aiperf").subcommand(
                Command::new("profile")
                    .arg(
                        Arg::new("streaming")
                            .long("streaming")
                            .action(ArgAction::SetTrue),
                    )
                    .arg(Arg::new("plain").long("plain").action(ArgAction::SetTrue))
                    .arg(
                        Arg::new("no-plain")
                            .long("no-plain")
                            .action(ArgAction::SetTrue),
                    )
                    .arg(
                        Arg::new("strategy")
                            .long("strategy")
                            .value_parser(clap::value_parser!(Strategy)),
                    )
                    .arg(
                        Arg::new("header")
                            .short('H')
                            .long("header")
                            .action(ArgAction::Append),
                    )
                    .arg(Arg::new("model").short('m').long("model")),
            ),
        )
    }

    fn parse(args: &[&str]) -> Result<clap::ArgMatches, clap::Error> {
        let command = command();
        let argv = ["aiperf", "profile"].iter().chain(args).map(OsString::from);
        let argv = normalize(&command, argv.collect());
        let matches = command.try_get_matches_from(argv)?;
        Ok(matches.subcommand_matches("profile").unwrap().clone())
    }

    fn flag(args: &[&str], id: &str) -> bool {
        *parse(args).unwrap().get_one::<bool>(id).unwrap()
    }

    #[test]
    fn booleans_take_an_optional_value_and_a_negation() {
        assert!(!flag(&[], "streaming"));
        assert!(flag(&["--streaming"], "streaming"));
        assert!(flag(&["--streaming", "true"], "streaming"));
        assert!(!flag(&["--streaming", "false"], "streaming"));
        assert!(!flag(&["--streaming=no"], "streaming"));
        assert!(!flag(&["--streaming", "--no-streaming"], "streaming"));
        assert!(flag(&["--streaming", "-m", "x"], "streaming"));
        assert!(parse(&["--streaming", "maybe"]).is_err());
    }

    #[test]
    fn an_option_of_its_own_named_no_x_keeps_its_meaning() {
        let matches = parse(&["--no-plain"]).unwrap();
        assert!(*matches.get_one::<bool>("no-plain").unwrap());
        assert!(!*matches.get_one::<bool>("plain").unwrap());
    }

    #[test]
    fn choices_accept_both_spellings() {
        for spelling in ["round_robin", "round-robin", "--strategy=round_robin"] {
            let args: Vec<&str> = if spelling.starts_with("--") {
                vec![spelling]
            } else {
                vec!["--strategy", spelling]
            };
            let matches = parse(&args).unwrap();
            assert_eq!(
                matches.get_one::<Strategy>("strategy"),
                Some(&Strategy::RoundRobin)
            );
        }
        assert!(parse(&["--strategy", "round_about"]).is_err());
    }

    #[test]
    fn repeatable_options_take_several_values_after_one_flag() {
        let matches = parse(&["-H", "A:1", "B:2", "--header", "C:3", "-m", "x"]).unwrap();
        let headers: Vec<&String> = matches.get_many("header").unwrap().collect();
        assert_eq!(headers, ["A:1", "B:2", "C:3"]);
        assert_eq!(matches.get_one::<String>("model").unwrap(), "x");
    }

    #[test]
    fn the_profile_command_parses_the_reference_spellings() {
        let profile = |args: &[&str]| {
            let argv = ["aiperf", "profile", "--sim"].iter().chain(args);
            match Cli::parse_command_line(argv).unwrap().command {
                crate::cli::Command::Profile(profile) => profile,
                other => panic!("parsed as {other:?}"),
            }
        };
        assert!(profile(&["--streaming"]).endpoint.streaming);
        assert!(profile(&["--streaming", "true"]).endpoint.streaming);
        assert!(
            !profile(&["--streaming", "--no-streaming"])
                .endpoint
                .streaming
        );
        let args = profile(&[
            "--streaming=false",
            "--url",
            "http://a:1",
            "http://b:2",
            "--extra-inputs",
            "a:1",
            "b:2",
            "-H",
            "X-A:1",
            "X-B:2",
            "--no-server-metrics",
        ]);
        assert!(!args.endpoint.streaming);
        assert_eq!(args.endpoint.urls, ["http://a:1", "http://b:2"]);
        assert_eq!(args.endpoint.extra_inputs, ["a:1", "b:2"]);
        assert_eq!(args.endpoint.headers, ["X-A:1", "X-B:2"]);
        assert!(args.output.no_server_metrics);
        assert!(args.given.contains(&"--streaming".to_owned()));
        let verbosity = |args: &[&str]| {
            let argv = ["aiperf", "profile", "--sim"].iter().chain(args);
            Cli::parse_command_line(argv).unwrap().global.log_level()
        };
        assert_eq!(verbosity(&["--extra-verbose"]), "trace");
        assert_eq!(verbosity(&["--extra-verbose", "true"]), "trace");
        assert_eq!(verbosity(&["--extra-verbose=false"]), "info");
        assert_eq!(
            verbosity(&["--extra-verbose", "--no-extra-verbose"]),
            "info"
        );
        assert_eq!(verbosity(&["--verbose", "true"]), "debug");
        assert_eq!(verbosity(&["-v", "false"]), "info");
        assert!(
            !profile(&["--no-set-consistent-seed"])
                .multi
                .set_consistent_seed
        );
        adapt(Cli::command()).debug_assert();
    }
}
