//! YAML configuration files (`aiperf profile --config FILE`, `aiperf config ...`), in the
//! Python AIPerf's schema 2.0: the file is read (environment references, `variables:` and
//! `{{ }}` expressions, shorthands, the legacy flat shape), each of its variations (a
//! `sweep:` block) is translated into the `aiperf profile` flags that ask for the same
//! benchmark, and those flags go before the command line's, so the command line wins.
//!
//! Only flags come out of here: every setting is then resolved and checked exactly as if it
//! had been typed.

mod argv;
#[cfg(test)]
mod coverage;
mod dataset;
mod env;
mod jinja;
mod keys;
mod map;
mod phases;
mod sections;
mod shape;
mod sweep;
pub mod templates;
mod yaml;

use std::path::{Path, PathBuf};

pub use self::argv::{check, parse_command_line};
pub use self::sweep::Variation;
use self::yaml::Node;

/// What is wrong, and the line it is on (when it is about one).
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub line: Option<u32>,
    pub message: String,
}

impl Problem {
    pub fn at(line: u32, message: impl Into<String>) -> Self {
        Self {
            line: (line > 0).then_some(line),
            message: message.into(),
        }
    }

    pub fn whole(message: impl Into<String>) -> Self {
        Self {
            line: None,
            message: message.into(),
        }
    }
}

/// A configuration file that cannot be used: `bench.yaml:14: benchmark.phases[1]....`.
#[derive(Debug, Clone)]
pub struct FileError(pub String);

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FileError {}

impl FileError {
    fn new(file: &Path, problem: &Problem) -> Self {
        match problem.line {
            Some(line) => Self(format!("{}:{line}: {}", file.display(), problem.message)),
            None => Self(format!("{}: {}", file.display(), problem.message)),
        }
    }
}

/// One flag the file asks for, and where it asked.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    /// The long name, without `--`.
    pub name: String,
    /// Its values (none for a switch).
    pub values: Vec<String>,
    /// The line of the key, and its path (`benchmark.phases[0].rate`).
    pub line: u32,
    pub key: String,
}

impl Flag {
    /// The command-line tokens: `--name=value`, `--name`, or `--name v1 v2`.
    pub fn tokens(&self) -> Vec<String> {
        match self.values.as_slice() {
            [] => vec![format!("--{}", self.name)],
            [one] => vec![format!("--{}={one}", self.name)],
            many => std::iter::once(format!("--{}", self.name))
                .chain(many.iter().cloned())
                .collect(),
        }
    }
}

/// A configuration file read and translated.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    /// The `aiperf profile` flags of the whole file (a sweep as value lists).
    pub flags: Vec<Flag>,
    /// Each variation of the sweep (one, without a sweep), with its own flags.
    pub variations: Vec<Variation>,
    /// The sweep's kind as the Python AIPerf names it (`GridSweep`, ...; `none`).
    pub sweep_type: String,
    /// What the file asks that needs saying: the legacy shape, keys that do not apply here.
    pub warnings: Vec<String>,
}

/// Where inline data (`records:`, rate series points) is written; `None` checks it only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Files {
    Write,
    Skip,
}

/// Reads and translates a configuration file, with the environment for `${VAR}`.
pub fn load(path: &Path, files: Files) -> Result<Loaded, FileError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(FileError(format!(
                "{}: configuration file not found",
                path.display()
            )));
        }
        Err(e) => return Err(FileError(format!("{}: cannot read: {e}", path.display()))),
    };
    load_str(&text, path, &|name| std::env::var(name).ok(), files)
}

/// [`load`] for text already read; `lookup` reads environment variables.
pub fn load_str(
    text: &str,
    path: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
    files: Files,
) -> Result<Loaded, FileError> {
    let fail = |p: Problem| FileError::new(path, &p);
    let mut root = yaml::parse(text).map_err(|e| {
        fail(Problem {
            line: e.line,
            message: format!("invalid YAML: {}", e.message),
        })
    })?;
    let mut warnings = Vec::new();
    shape::envelope(&mut root, &mut warnings).map_err(fail)?;
    env::substitute(&mut root, lookup).map_err(fail)?;
    if let Some(body) = root.get_mut("benchmark") {
        shape::body(body).map_err(fail)?;
    }
    let expanded = sweep::expand(&root).map_err(fail)?;
    let mut variations = Vec::with_capacity(expanded.variations.len());
    for (variation, mut envelope) in expanded.variations {
        jinja::render_document(&mut envelope).map_err(fail)?;
        let out = map::translate(&envelope, files).map_err(fail)?;
        for w in out.warnings {
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
        variations.push(variation.with(out.flags, body_of(&envelope)));
    }
    let flags = sweep::fold(&expanded.kind, &variations, &root).map_err(fail)?;
    Ok(Loaded {
        path: path.to_owned(),
        flags,
        variations,
        sweep_type: expanded.kind.python_name().to_owned(),
        warnings,
    })
}

fn body_of(envelope: &Node) -> serde_json::Value {
    envelope
        .get("benchmark")
        .map_or(serde_json::Value::Null, Node::to_json)
}
