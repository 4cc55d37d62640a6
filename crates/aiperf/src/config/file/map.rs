//! One variation of the document (its envelope and `benchmark:` body, templates rendered)
//! becomes the `aiperf profile` flags that ask for the same benchmark. Every key is read:
//! a key this tool has no counterpart for is an error naming it and why, a key about the
//! Python AIPerf's own internals a warning, an unknown key an error with the key meant.

use super::keys::{join, unknown_key};
use super::yaml::{Key, Node, Value, format_float};
use super::{Files, Flag, Problem};

/// The flags of one variation, and what needs saying about it.
#[derive(Debug, Default)]
pub(super) struct Out {
    pub(super) flags: Vec<Flag>,
    pub(super) warnings: Vec<String>,
}

/// Reads one section, flag by flag.
pub(super) struct Mapper {
    pub(super) out: Out,
    pub(super) files: Files,
}

pub(super) type Result<T> = std::result::Result<T, Problem>;

/// Translates an envelope whose templates are rendered.
pub(super) fn translate(envelope: &Node, files: Files) -> Result<Out> {
    let mut m = Mapper {
        out: Out::default(),
        files,
    };
    for (key, value) in entries(envelope, "")? {
        let path = key.name.as_str();
        match key.snake().as_str() {
            "schema_version" | "variables" | "sweep" => {}
            "benchmark" => super::sections::body(&mut m, value, path)?,
            "random_seed" => m.int_flag("random-seed", value, path)?,
            "multi_run" => multi_run(&mut m, value, path)?,
            "plot" => m.warn(format!(
                "{path}: the inline plot configuration is not read here; `aiperf plot` (or \
                 --auto-plot) draws its standard charts"
            )),
            "no_sweep_table" => m.warn(format!(
                "{path}: not needed here; the sweep's results are in sweep_aggregate/"
            )),
            _ => return Err(unknown_key(key, "", &super::shape::ENVELOPE_KEYS)),
        }
    }
    Ok(m.out)
}

fn multi_run(m: &mut Mapper, node: &Node, path: &str) -> Result<()> {
    const KEYS: [&str; 7] = [
        "num_runs",
        "cooldown_seconds",
        "confidence_level",
        "set_consistent_seed",
        "vary_seed_per_trial",
        "disable_warmup_after_first",
        "convergence",
    ];
    for (key, value) in entries(node, path)? {
        let p = join(path, &key.name);
        match key.snake().as_str() {
            "num_runs" => m.int_flag("num-profile-runs", value, &p)?,
            "cooldown_seconds" => m.seconds_flag("profile-run-cooldown-seconds", value, &p)?,
            "confidence_level" => m.num_flag("confidence-level", value, &p)?,
            "set_consistent_seed" => m.bool_value("set-consistent-seed", value, &p)?,
            "vary_seed_per_trial" => m.switch("vary-seed-per-trial", value, &p)?,
            "disable_warmup_after_first" => {
                m.bool_value("profile-run-disable-warmup-after-first", value, &p)?;
            }
            "convergence" => {
                for (k, v) in entries(value, &p)? {
                    let q = join(&p, &k.name);
                    match k.snake().as_str() {
                        "metric" => m.text_flag("convergence-metric", v, &q)?,
                        "stat" => m.text_flag("convergence-stat", v, &q)?,
                        "mode" => m.text_flag("convergence-mode", v, &q)?,
                        "threshold" => m.num_flag("convergence-threshold", v, &q)?,
                        "min_runs" => m.int_flag("convergence-min-runs", v, &q)?,
                        _ => {
                            return Err(unknown_key(
                                k,
                                &p,
                                &["metric", "stat", "mode", "threshold", "min_runs"],
                            ));
                        }
                    }
                }
            }
            _ => return Err(unknown_key(key, path, &KEYS)),
        }
    }
    Ok(())
}

/// The entries of a mapping; anything else is an error naming `path`.
pub(super) fn entries<'a>(node: &'a Node, path: &str) -> Result<&'a [(Key, Node)]> {
    node.as_map().ok_or_else(|| {
        Problem::at(
            node.line,
            format!("{}: expected a mapping, got {}", shown(path), node.kind()),
        )
    })
}

fn shown(path: &str) -> &str {
    if path.is_empty() {
        "the document"
    } else {
        path
    }
}

impl Mapper {
    /// Adds `--name` with `values`.
    pub(super) fn push(&mut self, name: &str, values: Vec<String>, node: &Node, path: &str) {
        self.out.flags.retain(|f| f.name != name);
        self.out.flags.push(Flag {
            name: name.to_owned(),
            values,
            line: node.line,
            key: path.to_owned(),
        });
    }

    pub(super) fn flag(&mut self, name: &str, value: String, node: &Node, path: &str) {
        self.push(name, vec![value], node, path);
    }

    pub(super) fn warn(&mut self, message: String) {
        if !self.out.warnings.contains(&message) {
            self.out.warnings.push(message);
        }
    }

    /// A key whose value has no counterpart here: an error naming the key and why.
    pub(super) fn refuse(&self, node: &Node, path: &str, why: &str) -> Problem {
        Problem::at(node.line, format!("{path}: not supported: {why}"))
    }

    pub(super) fn int(&self, node: &Node, path: &str) -> Result<i64> {
        match &node.value {
            Value::Int(i) => Ok(*i),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9e15 => Ok(*f as i64),
            _ => Err(Problem::at(
                node.line,
                format!("{path}: expected a whole number, got {}", described(node)),
            )),
        }
    }

    pub(super) fn num(&self, node: &Node, path: &str) -> Result<f64> {
        match &node.value {
            Value::Int(i) => Ok(*i as f64),
            Value::Float(f) => Ok(*f),
            Value::Str(s) if matches!(s.to_ascii_lowercase().as_str(), "inf" | "infinity") => {
                Ok(f64::INFINITY)
            }
            _ => Err(Problem::at(
                node.line,
                format!("{path}: expected a number, got {}", described(node)),
            )),
        }
    }

    pub(super) fn boolean(&self, node: &Node, path: &str) -> Result<bool> {
        match &node.value {
            Value::Bool(b) => Ok(*b),
            _ => Err(Problem::at(
                node.line,
                format!("{path}: expected true or false, got {}", described(node)),
            )),
        }
    }

    /// A scalar as text (strings, numbers, booleans).
    pub(super) fn text(&self, node: &Node, path: &str) -> Result<String> {
        match &node.value {
            Value::Str(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
                Ok(node.scalar_text())
            }
            _ => Err(Problem::at(
                node.line,
                format!("{path}: expected a single value, got {}", node.kind()),
            )),
        }
    }

    /// Seconds: a number, or text like `30s`, `5m`, `2h`, `inf`.
    pub(super) fn seconds(&self, node: &Node, path: &str) -> Result<f64> {
        if let Value::Str(s) = &node.value {
            return parse_duration(s).ok_or_else(|| {
                Problem::at(
                    node.line,
                    format!(
                        "{path}: invalid duration {s:?}; use a number of seconds or e.g. '30s', \
                         '5m', '2h'"
                    ),
                )
            });
        }
        self.num(node, path)
    }

    pub(super) fn int_flag(&mut self, name: &str, node: &Node, path: &str) -> Result<()> {
        let v = self.int(node, path)?;
        self.flag(name, v.to_string(), node, path);
        Ok(())
    }

    pub(super) fn num_flag(&mut self, name: &str, node: &Node, path: &str) -> Result<()> {
        let v = self.num(node, path)?;
        self.flag(name, number(v), node, path);
        Ok(())
    }

    pub(super) fn seconds_flag(&mut self, name: &str, node: &Node, path: &str) -> Result<()> {
        let v = self.seconds(node, path)?;
        self.flag(name, number(v), node, path);
        Ok(())
    }

    pub(super) fn text_flag(&mut self, name: &str, node: &Node, path: &str) -> Result<()> {
        let v = self.text(node, path)?;
        self.flag(name, v, node, path);
        Ok(())
    }

    /// A switch that is off unless given: `true` adds `--name`, `false` nothing.
    pub(super) fn switch(&mut self, name: &str, node: &Node, path: &str) -> Result<()> {
        if self.boolean(node, path)? {
            self.push(name, Vec::new(), node, path);
        }
        Ok(())
    }

    /// A boolean option that takes its value (`--name=false`).
    pub(super) fn bool_value(&mut self, name: &str, node: &Node, path: &str) -> Result<()> {
        let v = self.boolean(node, path)?;
        self.flag(name, v.to_string(), node, path);
        Ok(())
    }
}

/// A number as a flag value: whole numbers without a fraction.
pub(super) fn number(v: f64) -> String {
    if v.is_infinite() {
        "inf".into()
    } else if v.fract() == 0.0 && v.abs() < 9e15 {
        format!("{}", v as i64)
    } else {
        format_float(v)
    }
}

fn described(node: &Node) -> String {
    match &node.value {
        Value::Str(s) => format!("{s:?}"),
        Value::Map(_) | Value::Seq(_) | Value::Null => node.kind().to_owned(),
        _ => node.scalar_text(),
    }
}

/// `30`, `30s`, `5 min`, `2h`, `1hour` → seconds; `inf` → infinity.
pub(super) fn parse_duration(text: &str) -> Option<f64> {
    let t = text.trim().to_ascii_lowercase();
    if t == "inf" || t == "infinity" {
        return Some(f64::INFINITY);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let value: f64 = digits.parse().ok()?;
    let scale = match unit.trim() {
        "" | "s" | "sec" => 1.0,
        "m" | "min" => 60.0,
        "h" | "hr" | "hour" => 3600.0,
        _ => return None,
    };
    Some(value * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30"), Some(30.0));
        assert_eq!(parse_duration("30s"), Some(30.0));
        assert_eq!(parse_duration("5m"), Some(300.0));
        assert_eq!(parse_duration("5 min"), Some(300.0));
        assert_eq!(parse_duration("1.5h"), Some(5400.0));
        assert_eq!(parse_duration("inf"), Some(f64::INFINITY));
        assert_eq!(parse_duration("5 parsecs"), None);
        assert_eq!(number(30.0), "30");
        assert_eq!(number(2.5), "2.5");
    }
}
