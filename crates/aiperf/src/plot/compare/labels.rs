//! Each compared directory's label: the settings that differ between the directories, as
//! short `name=value` pairs, or the directory's name where nothing meaningful differs.

use serde_json::Value;

use super::data::Dir;

/// At most this many differing settings name a directory.
const MAX_KEYS: usize = 3;
/// Longer values are cut to this many characters.
const MAX_VALUE: usize = 20;

/// Setting names that differ between any two runs and say nothing about what was measured.
const NOISE: [&str; 12] = [
    "artifact_dir",
    "cli_command",
    "benchmark_id",
    "sweep_id",
    "aiperf_version",
    "start_time",
    "end_time",
    "timestamp",
    "profile_export_file",
    "profile_export_prefix",
    "output_dir",
    "dir",
];

/// Generic setting names that read better with their parent's (`isl.mean`).
const GENERIC: [&str; 7] = ["mean", "stddev", "enabled", "type", "name", "kind", "value"];

/// Labels every directory: unique and short.
pub(super) fn assign(dirs: &mut [Dir]) {
    let flat: Vec<Vec<(String, String)>> = dirs
        .iter()
        .map(|d| d.settings().map(flatten).unwrap_or_default())
        .collect();
    let commands: Vec<&str> = dirs.iter().map(Dir::command).collect();
    let swept: Vec<String> = dirs.iter().flat_map(Dir::swept).collect();
    let simulated = dirs
        .iter()
        .all(|d| d.settings().is_some_and(|s| !s["sim"].is_null()));
    let keys = differing(&flat)
        .into_iter()
        .filter(|k| keep(k, &commands, &swept, simulated))
        .collect::<Vec<_>>();
    let chosen = choose(&keys, &flat, &commands);
    let names = short_names(&chosen);
    let mut labels: Vec<String> = flat
        .iter()
        .map(|settings| {
            chosen
                .iter()
                .zip(&names)
                .map(|(k, name)| format!("{name}={}", shorten(value_of(settings, k))))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect();
    // Where the settings do not tell directories apart, their names do.
    for i in 0..labels.len() {
        let clash = labels.iter().filter(|l| **l == labels[i]).count() > 1;
        if labels[i].is_empty() || clash {
            let name = dirs[i].name();
            labels[i] = if labels[i].is_empty() {
                name
            } else {
                format!("{} ({name})", labels[i])
            };
        }
    }
    for i in 0..labels.len() {
        if labels[..i].contains(&labels[i]) {
            labels[i] = format!("{} #{}", labels[i], i + 1);
        }
    }
    for (d, l) in dirs.iter_mut().zip(labels) {
        d.label = l;
    }
}

/// The scalar settings of `v` as `a.b[0].c` → text, in document order.
pub(super) fn flatten(v: &Value) -> Vec<(String, String)> {
    fn walk(v: &Value, key: &str, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let key = if key.is_empty() {
                        k.clone()
                    } else {
                        format!("{key}.{k}")
                    };
                    walk(x, &key, out);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(x, &format!("{key}[{i}]"), out);
                }
            }
            Value::String(s) => out.push((key.to_owned(), s.clone())),
            Value::Null => out.push((key.to_owned(), "none".to_owned())),
            other => out.push((key.to_owned(), other.to_string())),
        }
    }
    let mut out = Vec::new();
    walk(v, "", &mut out);
    out
}

fn value_of<'a>(settings: &'a [(String, String)], key: &str) -> &'a str {
    settings
        .iter()
        .find(|(k, _)| k == key)
        .map_or("none", |(_, v)| v.as_str())
}

/// The keys whose values are not the same in every directory, in first-seen order.
fn differing(flat: &[Vec<(String, String)>]) -> Vec<String> {
    let mut keys: Vec<&str> = Vec::new();
    for settings in flat {
        for (k, _) in settings {
            if !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
    }
    keys.into_iter()
        .filter(|k| {
            let first = value_of(&flat[0], k);
            flat.iter().any(|s| value_of(s, k) != first)
        })
        .map(str::to_owned)
        .collect()
}

/// The parts of a key without list indices: `endpoint.urls[0]` → `endpoint`, `urls`.
fn segments(key: &str) -> impl Iterator<Item = &str> {
    key.split('.')
        .map(|s| s.split('[').next().unwrap_or(s))
        .filter(|s| !s.is_empty())
}

/// Whether a differing key says something: not an output path or identity, not the
/// simulator's fresh port, not a seed nobody chose, not a swept parameter (compared cell by
/// cell instead).
fn keep(key: &str, commands: &[&str], swept: &[String], simulated: bool) -> bool {
    let leaf = segments(key).last().unwrap_or("");
    if NOISE.contains(&leaf) || key.contains("artifacts.") {
        return false;
    }
    if simulated && segments(key).any(|s| s == "urls") {
        return false;
    }
    if leaf.contains("seed") && !commands.iter().all(|c| c.contains("seed")) {
        return false;
    }
    !segments(key).any(|s| swept.iter().any(|p| p == s))
}

/// Whether a segment of `key` is a flag given on some command line (`--concurrency`).
fn named_in_commands(key: &str, commands: &[&str]) -> bool {
    segments(key).any(|s| {
        let flag = format!("--{}", s.replace('_', "-"));
        commands.iter().any(|c| {
            c.split_whitespace()
                .any(|w| w == flag || w.starts_with(&format!("{flag}=")))
        })
    })
}

/// The keys that name the directories: those named on a command line first, then in
/// document order; a key not named on any command line only where it splits the directories
/// in a way no chosen key does (the model a simulator preset implies adds nothing).
fn choose(keys: &[String], flat: &[Vec<(String, String)>], commands: &[&str]) -> Vec<String> {
    let partition = |k: &str| -> Vec<usize> {
        let values: Vec<&str> = flat.iter().map(|s| value_of(s, k)).collect();
        values
            .iter()
            .map(|v| values.iter().position(|x| x == v).unwrap_or(0))
            .collect()
    };
    let (named, rest): (Vec<&String>, Vec<&String>) =
        keys.iter().partition(|k| named_in_commands(k, commands));
    let mut seen: Vec<Vec<usize>> = named.iter().map(|k| partition(k)).collect();
    let mut chosen: Vec<String> = named.into_iter().cloned().collect();
    for k in rest {
        let p = partition(k);
        if !seen.contains(&p) {
            seen.push(p);
            chosen.push(k.clone());
        }
    }
    chosen.truncate(MAX_KEYS);
    chosen
}

/// The shortest unambiguous name of each key: its last part (`concurrency`), with its
/// parent's where the last part is generic or shared (`isl.mean`).
fn short_names(keys: &[String]) -> Vec<String> {
    let tail = |k: &str, n: usize| -> String {
        let parts: Vec<&str> = segments(k).collect();
        parts[parts.len().saturating_sub(n)..].join(".")
    };
    let mut names: Vec<String> = keys
        .iter()
        .map(|k| {
            let leaf = tail(k, 1);
            if GENERIC.contains(&leaf.as_str()) {
                tail(k, 2)
            } else {
                leaf
            }
        })
        .collect();
    for i in 0..names.len() {
        if names.iter().filter(|n| **n == names[i]).count() > 1 {
            names[i] = keys[i].clone();
        }
    }
    names
}

/// `value`, cut to [`MAX_VALUE`] characters.
fn shorten(value: &str) -> String {
    if value.chars().count() <= MAX_VALUE {
        value.to_owned()
    } else {
        let mut s: String = value.chars().take(MAX_VALUE - 1).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn keys_that_split_the_directories_alike_name_them_once() {
        let flat = vec![
            settings(&[
                ("models[0]", "fixed-latency-sim"),
                ("sim.preset", "fixed"),
                ("input.osl.mean", "4.0"),
            ]),
            settings(&[
                ("models[0]", "llama-3.1-8b-instruct-sim"),
                ("sim.preset", "llama-8b-h100"),
                ("input.osl.mean", "4.0"),
            ]),
        ];
        let keys = differing(&flat);
        assert_eq!(keys, ["models[0]", "sim.preset"]);
        // `--sim` is on the command line: the preset names them, the model it implies does not.
        let chosen = choose(
            &keys,
            &flat,
            &["aiperf profile --sim fixed", "aiperf profile --sim"],
        );
        assert_eq!(chosen, ["sim.preset"]);
        assert_eq!(short_names(&chosen), ["preset"]);
        assert_eq!(short_names(&["input.osl.mean".to_owned()]), ["osl.mean"]);
    }

    #[test]
    fn outputs_ports_and_unchosen_seeds_do_not_label() {
        let commands = ["aiperf profile --sim", "aiperf profile --sim"];
        assert!(!keep("output.artifact_dir", &commands, &[], true));
        assert!(!keep("endpoint.urls[0]", &commands, &[], true));
        assert!(keep("endpoint.urls[0]", &commands, &[], false));
        assert!(!keep("random_seed", &commands, &[], true));
        assert!(keep(
            "random_seed",
            &["x --random-seed 1", "x --random-seed 2"],
            &[],
            true
        ));
        assert!(!keep(
            "load.concurrency",
            &commands,
            &["concurrency".into()],
            true
        ));
        assert!(keep("load.concurrency", &commands, &[], true));
    }

    #[test]
    fn long_values_are_cut() {
        assert_eq!(shorten("short"), "short");
        assert_eq!(
            shorten("a-very-long-model-name-indeed").chars().count(),
            MAX_VALUE
        );
    }
}
