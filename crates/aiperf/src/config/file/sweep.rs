//! `sweep:` in a file: the variations of a grid (every combination), a zip (values paired
//! by position) or named scenarios (each a partial body merged over the base), as the
//! Python AIPerf expands them; then the variations' flags folded back into the sweep lists
//! `aiperf profile` runs (`--concurrency 8,16,32`, several lists as a grid or zip).

use super::keys::{join, unknown_key};
use super::map::number;
use super::shape;
use super::yaml::{Key, Node, Value, format_float};
use super::{Flag, Problem};

/// The bare names that stand for `phases.profiling.<name>`.
const ALIASES: [&str; 13] = [
    "concurrency",
    "prefill_concurrency",
    "rate",
    "requests",
    "duration",
    "sessions",
    "users",
    "smoothness",
    "grace_period",
    "concurrency_ramp",
    "prefill_ramp",
    "rate_ramp",
    "rate_series",
];

/// The flags whose value lists the sweep machinery runs, in the words of the file.
const SWEEPABLE: [(&str, &str); 6] = [
    ("concurrency", "concurrency"),
    ("request-rate", "rate"),
    ("request-count", "requests"),
    ("benchmark-duration", "duration"),
    ("isl", "prompts.isl"),
    ("osl", "prompts.osl"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SweepKind {
    None,
    Grid,
    Zip,
    Scenarios,
}

impl SweepKind {
    pub(super) fn python_name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Grid => "GridSweep",
            Self::Zip => "ZipSweep",
            Self::Scenarios => "ScenarioSweep",
        }
    }
}

/// One variation: what `aiperf config expand` shows, and the flags it becomes.
#[derive(Debug, Clone)]
pub struct Variation {
    pub index: usize,
    pub label: String,
    pub dir_name: String,
    /// The swept values by path (a scenario's whole override when it names none).
    pub values: Vec<(String, serde_json::Value)>,
    pub flags: Vec<Flag>,
    /// The variation's `benchmark:` body, merged and rendered.
    pub body: serde_json::Value,
}

impl Variation {
    pub(super) fn with(mut self, flags: Vec<Flag>, body: serde_json::Value) -> Self {
        self.flags = flags;
        self.body = body;
        self
    }
}

pub(super) struct Expanded {
    pub(super) kind: SweepKind,
    pub(super) variations: Vec<(Variation, Node)>,
}

type Result<T> = std::result::Result<T, Problem>;

/// The variations of the envelope `root` (the envelope itself when there is no sweep).
pub(super) fn expand(root: &Node) -> Result<Expanded> {
    let Some(sweep) = root
        .get("sweep")
        .filter(|s| !matches!(s.value, Value::Null))
    else {
        return Ok(Expanded {
            kind: SweepKind::None,
            variations: vec![(variation(0, "base".into(), Vec::new()), root.clone())],
        });
    };
    if sweep.as_map().is_none() {
        return Err(Problem::at(
            sweep.line,
            format!("sweep: expected a mapping, got {}", sweep.kind()),
        ));
    }
    let kind_text = sweep.get("type").and_then(Node::as_str).unwrap_or("grid");
    let kind = match kind_text {
        "grid" => SweepKind::Grid,
        "zip" => SweepKind::Zip,
        "scenarios" => SweepKind::Scenarios,
        "sobol" | "latin_hypercube" | "adaptive_search" => {
            return Err(Problem::at(
                sweep.get("type").map_or(sweep.line, |t| t.line),
                format!(
                    "sweep.type: {kind_text} is not supported here: sweeps run a grid, a zip or \
                     named scenarios of concurrency, rate, requests, duration, isl and osl; an \
                     adaptive search is --search-space (or --search-recipe)"
                ),
            ));
        }
        other => {
            return Err(Problem::at(
                sweep.line,
                format!("sweep.type: {other:?} is not a sweep type (grid, zip, scenarios)"),
            ));
        }
    };
    let variations = match kind {
        SweepKind::Scenarios => scenarios(root, sweep)?,
        _ => parameters(root, sweep, kind)?,
    };
    Ok(Expanded { kind, variations })
}

fn variation(index: usize, label: String, values: Vec<(String, serde_json::Value)>) -> Variation {
    let dir_name = dir_name(&values, &label, index);
    Variation {
        index,
        label,
        dir_name,
        values,
        flags: Vec::new(),
        body: serde_json::Value::Null,
    }
}

fn parameters(root: &Node, sweep: &Node, kind: SweepKind) -> Result<Vec<(Variation, Node)>> {
    let mode = if kind == SweepKind::Grid {
        "grid"
    } else {
        "zip"
    };
    let known = [
        "type",
        "parameters",
        "cooldown_seconds",
        "same_seed",
        "iteration_order",
        "sla_filters",
        "post_process",
        "recipe_name",
    ];
    for (key, _) in sweep.as_map().into_iter().flatten() {
        if !known.contains(&key.snake().as_str()) {
            return Err(unknown_key(key, "sweep", &known));
        }
    }
    let Some(params) = sweep.get("parameters").and_then(Node::as_map) else {
        return Err(Problem::at(
            sweep.line,
            format!("sweep.parameters: required for a {mode} sweep"),
        ));
    };
    let mut dims: Vec<(String, &[Node], u32)> = Vec::new();
    for (key, values) in params {
        let resolved = resolve_path(&key.name)
            .map_err(|e| Problem::at(key.line, format!("sweep.parameters.{}: {e}", key.name)))?;
        let list = values.as_seq().filter(|l| !l.is_empty()).ok_or_else(|| {
            Problem::at(
                values.line,
                format!(
                    "sweep.parameters.{}: expected a non-empty list of values",
                    key.name
                ),
            )
        })?;
        if dims.iter().any(|(p, _, _)| *p == resolved) {
            return Err(Problem::at(
                key.line,
                format!(
                    "sweep.parameters.{} resolves to {resolved}, which is already a parameter; keep one spelling",
                    key.name
                ),
            ));
        }
        dims.push((resolved, list, key.line));
    }
    dims.sort_by(|a, b| a.0.cmp(&b.0));
    let combos: Vec<Vec<usize>> = if kind == SweepKind::Grid {
        dims.iter().fold(vec![Vec::new()], |acc, (_, list, _)| {
            acc.iter()
                .flat_map(|prefix| (0..list.len()).map(move |i| [prefix.clone(), vec![i]].concat()))
                .collect()
        })
    } else {
        let n = dims[0].1.len();
        if dims.iter().any(|(_, l, _)| l.len() != n) {
            let lens: Vec<String> = dims
                .iter()
                .map(|(p, l, _)| format!("{p}: {}", l.len()))
                .collect();
            return Err(Problem::at(
                sweep.line,
                format!(
                    "sweep.parameters: a zip sweep pairs values by position, so every list needs the same length ({})",
                    lens.join(", ")
                ),
            ));
        }
        (0..n).map(|i| vec![i; dims.len()]).collect()
    };
    let mut out = Vec::new();
    for (index, combo) in combos.iter().enumerate() {
        let mut envelope = root.clone();
        let mut values = Vec::new();
        for ((path, list, line), &i) in dims.iter().zip(combo) {
            let value = list[i].clone();
            let at = |e: String| Problem::at(*line, format!("sweep.parameters: {e}"));
            if let Some(rest) = path.strip_prefix("variables.") {
                if envelope.get("variables").is_none() {
                    envelope.set("variables", Node::map(*line, Vec::new()));
                }
                let vars = envelope
                    .get_mut("variables")
                    .ok_or_else(|| at("variables".into()))?;
                set_path(vars, rest, value.clone(), path).map_err(at)?;
            } else {
                let body = envelope
                    .get_mut("benchmark")
                    .ok_or_else(|| at("no benchmark".into()))?;
                set_path(body, path, value.clone(), path).map_err(at)?;
            }
            values.push((path.clone(), value.to_json()));
        }
        envelope.take("sweep");
        let label = values
            .iter()
            .map(|(k, v)| format!("{k}={}", python_str(v)))
            .collect::<Vec<_>>()
            .join(", ");
        out.push((variation(index, label, values), envelope));
    }
    Ok(out)
}

/// A parameter's path after the bare-name sugar, checked.
fn resolve_path(p: &str) -> std::result::Result<String, String> {
    let p = if !p.contains('.') && ALIASES.contains(&p) {
        format!("phases.profiling.{p}")
    } else {
        p.to_owned()
    };
    if p.is_empty() || p.starts_with('.') || p.ends_with('.') || p.contains("..") {
        return Err(format!("{p:?} is not a dotted path"));
    }
    match p.split('.').next().unwrap_or_default() {
        "sweep" => Err(format!(
            "{p:?} targets the sweep itself, which is not sweepable"
        )),
        "multi_run" | "multiRun" | "random_seed" | "randomSeed" => Err(format!(
            "{p:?} targets an envelope setting, which is not sweepable"
        )),
        "benchmark" => Err(format!(
            "{p:?}: drop the `benchmark.` prefix; paths are inside the benchmark body (e.g. \
             phases.profiling.rate)"
        )),
        _ => Ok(p),
    }
}

/// Sets `path` (dot-separated; list entries by index, by `name`, or `phases.profiling` for
/// the one profiling-kind phase) under `node`.
fn set_path(
    node: &mut Node,
    path: &str,
    value: Node,
    full: &str,
) -> std::result::Result<(), String> {
    let (head, rest) = match path.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (path, None),
    };
    let child: &mut Node = match &mut node.value {
        Value::Seq(items) => {
            let names: Vec<String> = items
                .iter()
                .filter_map(|i| i.get("name").and_then(Node::as_str).map(str::to_owned))
                .collect();
            find_entry(items, head).ok_or_else(|| {
                format!("{full}: no entry {head:?} (entries: {})", names.join(", "))
            })?
        }
        Value::Map(_) => {
            if rest.is_none() {
                node.set(head, value);
                return Ok(());
            }
            if node.get(head).is_none() {
                node.set(head, Node::map(0, Vec::new()));
            }
            node.get_mut(head)
                .ok_or_else(|| format!("{full}: cannot set {head}"))?
        }
        _ => {
            return Err(format!(
                "{full}: {head:?} is inside {}, not a mapping",
                node.kind()
            ));
        }
    };
    match rest {
        Some(rest) => set_path(child, rest, value, full),
        None => {
            *child = value;
            Ok(())
        }
    }
}

fn find_entry<'a>(items: &'a mut [Node], key: &str) -> Option<&'a mut Node> {
    if let Ok(i) = key.parse::<usize>() {
        return items.get_mut(i);
    }
    let named = |n: &Node| n.get("name").and_then(Node::as_str) == Some(key);
    if let Some(i) = items.iter().position(named) {
        return items.get_mut(i);
    }
    if key == "profiling" {
        let kinds: Vec<usize> = items
            .iter()
            .enumerate()
            .filter(|(_, n)| n.get("kind").and_then(Node::as_str) == Some("profiling"))
            .map(|(i, _)| i)
            .collect();
        if let [one] = kinds[..] {
            return items.get_mut(one);
        }
    }
    None
}

fn scenarios(root: &Node, sweep: &Node) -> Result<Vec<(Variation, Node)>> {
    let Some(runs) = sweep.get("runs").and_then(Node::as_seq) else {
        return Err(Problem::at(
            sweep.line,
            "sweep.runs: required for a scenarios sweep (a list of named runs)",
        ));
    };
    let mut out = Vec::new();
    for (index, run) in runs.iter().enumerate() {
        let path = format!("sweep.runs[{index}]");
        let Some(entries) = run.as_map() else {
            return Err(Problem::at(
                run.line,
                format!("{path}: expected a mapping (name, benchmark, variables, values)"),
            ));
        };
        let mut envelope = root.clone();
        envelope.take("sweep");
        let mut label = format!("scenario_{index}");
        let mut explicit = None;
        let mut overrides = Vec::new();
        for (key, value) in entries {
            match key.snake().as_str() {
                "name" => label = value.scalar_text(),
                "values" => explicit = Some(value.clone()),
                "benchmark" => {
                    let mut partial = value.clone();
                    scenario_dataset(&mut partial, &envelope, &path)?;
                    shape::body(&mut partial)?;
                    if let Some(body) = envelope.get_mut("benchmark") {
                        merge(body, &partial);
                    }
                    overrides.push((key.name.clone(), value.to_json()));
                }
                "variables" => {
                    if envelope.get("variables").is_none() {
                        envelope.set("variables", Node::map(value.line, Vec::new()));
                    }
                    if let Some(vars) = envelope.get_mut("variables") {
                        merge(vars, value);
                    }
                    overrides.push((key.name.clone(), value.to_json()));
                }
                _ => {
                    return Err(unknown_key(
                        key,
                        &path,
                        &["name", "variables", "benchmark", "values"],
                    ));
                }
            }
        }
        let values = match explicit {
            Some(v) => v
                .as_map()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.name.clone(), v.to_json()))
                .collect(),
            None => overrides,
        };
        if label.contains('/') || label.contains('\\') || label.contains("..") {
            return Err(Problem::at(
                run.line,
                format!("{path}.name: {label:?} cannot name a directory"),
            ));
        }
        out.push((variation(index, label, values), envelope));
    }
    Ok(out)
}

/// A scenario's `dataset:` names the base's only dataset.
fn scenario_dataset(partial: &mut Node, envelope: &Node, path: &str) -> Result<()> {
    let Some((key, mut dataset)) = partial.take("dataset") else {
        return Ok(());
    };
    if dataset.get("name").is_none() {
        let base = envelope
            .get("benchmark")
            .and_then(|b| b.get("datasets"))
            .and_then(Node::as_seq)
            .unwrap_or_default();
        let [only] = base else {
            return Err(Problem::at(
                key.line,
                format!("{path}.benchmark.dataset: give its name (the base has several datasets)"),
            ));
        };
        let name = only
            .get("name")
            .cloned()
            .unwrap_or_else(|| Node::str(key.line, "default"));
        if let Some(map) = dataset.as_map_mut() {
            map.insert(0, (Key::new("name", key.line), name));
        }
    }
    let list = Node::new(key.line, Value::Seq(vec![dataset]));
    partial
        .as_map_mut()
        .into_iter()
        .for_each(|m| m.push((Key::new("datasets", key.line), list.clone())));
    Ok(())
}

/// Keys whose presence tells a distribution's kind: changing them replaces the value.
const DISTRIBUTION_KEYS: [&str; 5] = ["peaks", "points", "value", "median", "stddev"];

/// Deep-merges `over` into `base`: mappings by key, lists of named entries by name,
/// anything else replaced.
fn merge(base: &mut Node, over: &Node) {
    let (Some(_), Some(entries)) = (base.as_map(), over.as_map()) else {
        *base = over.clone();
        return;
    };
    for (key, value) in entries {
        let Some(slot) = base.get_mut(&key.snake()) else {
            base.set(&key.name, value.clone());
            continue;
        };
        let kinds = |n: &Node| -> Vec<&str> {
            DISTRIBUTION_KEYS
                .iter()
                .copied()
                .filter(|k| n.get(k).is_some())
                .collect()
        };
        match (&mut slot.value, &value.value) {
            (Value::Map(_), Value::Map(_)) => {
                let (a, b) = (kinds(slot), kinds(value));
                if !a.is_empty() && !b.is_empty() && a != b {
                    *slot = value.clone();
                } else {
                    merge(slot, value);
                }
            }
            (Value::Seq(items), Value::Seq(new)) if named(items) && named(new) => {
                for entry in new {
                    let name = entry.get("name").and_then(Node::as_str);
                    match items
                        .iter_mut()
                        .find(|i| i.get("name").and_then(Node::as_str) == name)
                    {
                        Some(existing) => merge(existing, entry),
                        None => items.push(entry.clone()),
                    }
                }
            }
            _ => *slot = value.clone(),
        }
    }
}

fn named(items: &[Node]) -> bool {
    !items.is_empty()
        && items
            .iter()
            .all(|i| i.get("name").and_then(Node::as_str).is_some())
}

/// A value as Python's `str()` writes it (labels and directory names).
fn python_str(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Bool(true) => "True".into(),
        serde_json::Value::Bool(false) => "False".into(),
        serde_json::Value::Null => "None".into(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) if n.is_f64() => format_float(n.as_f64().unwrap_or_default()),
        other => other.to_string(),
    }
}

fn dir_name(values: &[(String, serde_json::Value)], label: &str, index: usize) -> String {
    let nested = values.iter().any(|(_, v)| v.is_object() || v.is_array());
    let from_values = if values.is_empty() || nested {
        String::new()
    } else {
        sanitize(
            &values
                .iter()
                .map(|(k, v)| format!("{}_{}", k.rsplit('.').next().unwrap_or(k), python_str(v)))
                .collect::<Vec<_>>()
                .join("__"),
        )
    };
    if !from_values.is_empty() {
        return from_values;
    }
    let s = sanitize(label);
    if s.is_empty() {
        format!("variation_{index}")
    } else {
        s
    }
}

fn sanitize(segment: &str) -> String {
    let s = segment
        .replace("..", "")
        .replace(['/', '\\', '<', '>', ':', '"', '|', '?', '*'], "");
    if s.chars().all(|c| c == '.') {
        String::new()
    } else {
        s
    }
}

/// The flags of the whole file: those every variation shares, and the swept ones as value
/// lists with `--sweep-type`. A sweep that varies anything else is an error naming it.
pub(super) fn fold(kind: &SweepKind, variations: &[Variation], root: &Node) -> Result<Vec<Flag>> {
    let [first, ..] = variations else {
        return Ok(Vec::new());
    };
    let mut flags: Vec<Flag> = Vec::new();
    let mut swept: Vec<Flag> = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for v in variations {
        for f in &v.flags {
            if !names.contains(&f.name.as_str()) {
                names.push(&f.name);
            }
        }
    }
    for name in names {
        let per: Vec<Option<&Flag>> = variations
            .iter()
            .map(|v| v.flags.iter().find(|f| f.name == name))
            .collect();
        let all_same = per
            .iter()
            .all(|f| f.map(|f| &f.values) == per[0].map(|f| &f.values));
        if all_same {
            // A repeatable flag (`--url`) appears once per value: keep every occurrence.
            flags.extend(first.flags.iter().filter(|f| f.name == name).cloned());
            continue;
        }
        let example = per
            .iter()
            .flatten()
            .next()
            .copied()
            .cloned()
            .unwrap_or_else(|| Flag {
                name: name.to_owned(),
                values: Vec::new(),
                line: 0,
                key: String::new(),
            });
        let sweep_line = root.get("sweep").map_or(0, |s| s.line);
        let Some((_, words)) = SWEEPABLE.iter().find(|(f, _)| *f == name) else {
            return Err(Problem::at(
                sweep_line,
                format!(
                    "sweep: the variations differ in {} (--{name}); sweeps here vary {} (give \
                     the others one value, or run one file per value)",
                    example.key,
                    SWEEPABLE
                        .iter()
                        .map(|(_, w)| *w)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        let mut values = Vec::new();
        for (v, f) in variations.iter().zip(&per) {
            match f {
                Some(f) if f.values.len() == 1 => values.push(f.values[0].clone()),
                _ => {
                    return Err(Problem::at(
                        sweep_line,
                        format!(
                            "sweep: variation {} ({}) has no single {words} while others do; give it one",
                            v.index, v.label
                        ),
                    ));
                }
            }
        }
        swept.push(Flag { values, ..example });
    }
    if !swept.is_empty() {
        let layout = layout(*kind, &swept, variations.len(), root)?;
        for f in &mut swept {
            let mut distinct: Vec<String> = Vec::new();
            for v in &f.values {
                if layout == "grid" && distinct.contains(v) {
                    continue;
                }
                distinct.push(v.clone());
            }
            *f = Flag {
                values: vec![distinct.join(",")],
                ..f.clone()
            };
        }
        flags.extend(swept);
        flags.push(Flag {
            name: "sweep-type".into(),
            values: vec![layout.into()],
            line: root.get("sweep").map_or(0, |s| s.line),
            key: "sweep.type".into(),
        });
    }
    sweep_settings(root, &mut flags)?;
    Ok(flags)
}

/// Whether the swept lists form every combination (grid) or pair by position (zip); the
/// sweep machinery needs distinct values in each list.
fn layout(kind: SweepKind, swept: &[Flag], n: usize, root: &Node) -> Result<&'static str> {
    let line = root.get("sweep").map_or(0, |s| s.line);
    let distinct = |f: &Flag| {
        let mut d: Vec<&String> = Vec::new();
        for v in &f.values {
            if !d.contains(&v) {
                d.push(v);
            }
        }
        d.len()
    };
    let product: usize = swept.iter().map(distinct).product();
    let tuples: std::collections::BTreeSet<Vec<&String>> = (0..n)
        .map(|i| swept.iter().map(|f| &f.values[i]).collect())
        .collect();
    let is_grid = product == n && tuples.len() == n;
    let is_zip = swept.iter().all(|f| distinct(f) == n);
    match (kind, is_grid, is_zip) {
        (SweepKind::Grid, true, _) | (_, true, false) => return Ok("grid"),
        (_, _, true) => return Ok("zip"),
        _ => {}
    }
    let repeated: Vec<String> = swept
        .iter()
        .filter(|f| distinct(f) != n)
        .map(|f| format!("--{}", f.name))
        .collect();
    Err(Problem::at(
        line,
        format!(
            "sweep: the variations repeat values of {} without forming every combination; \
             sweeps here run a grid of distinct values or pair distinct values by position",
            repeated.join(", ")
        ),
    ))
}

/// `sweep.cooldown_seconds`, `same_seed`, `iteration_order`; the rest refused.
fn sweep_settings(root: &Node, flags: &mut Vec<Flag>) -> Result<()> {
    let Some(sweep) = root.get("sweep") else {
        return Ok(());
    };
    for (key, value) in sweep.as_map().into_iter().flatten() {
        let path = join("sweep", &key.name);
        let flag = |name: &str, v: String| Flag {
            name: name.into(),
            values: vec![v],
            line: value.line,
            key: path.clone(),
        };
        match key.snake().as_str() {
            "cooldown_seconds" => {
                let secs = match &value.value {
                    Value::Int(i) => *i as f64,
                    Value::Float(f) => *f,
                    _ => {
                        return Err(Problem::at(
                            value.line,
                            format!("{path}: expected a number of seconds"),
                        ));
                    }
                };
                flags.push(flag("parameter-sweep-cooldown-seconds", number(secs)));
            }
            "same_seed" => {
                if matches!(value.value, Value::Bool(true)) {
                    flags.push(Flag {
                        values: Vec::new(),
                        ..flag("parameter-sweep-same-seed", String::new())
                    });
                }
            }
            "iteration_order" => flags.push(flag("parameter-sweep-mode", value.scalar_text())),
            "sla_filters" | "post_process" | "recipe_name" => {
                let empty = matches!(&value.value, Value::Null)
                    || value.as_seq().is_some_and(<[Node]>::is_empty);
                if !empty {
                    return Err(Problem::at(
                        value.line,
                        format!(
                            "{path}: not supported in a file here; search recipes (--search-recipe) filter and post-process their sweeps"
                        ),
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::yaml::parse;
    use super::*;

    fn envelope(text: &str) -> Node {
        let mut doc = parse(text).unwrap();
        shape::envelope(&mut doc, &mut Vec::new()).unwrap();
        shape::body(doc.get_mut("benchmark").unwrap()).unwrap();
        doc
    }

    #[test]
    fn grid_is_every_combination_sorted_by_path() {
        let doc = envelope(
            "benchmark:\n  datasets: [{name: main, prompts: {isl: 64}}]\n  phases: {type: \
             concurrency, requests: 10}\nsweep:\n  parameters:\n    concurrency: [1, 2]\n    \
             datasets.main.prompts.isl: [32, 64]\n",
        );
        let e = expand(&doc).unwrap();
        assert_eq!(e.kind, SweepKind::Grid);
        let labels: Vec<&str> = e
            .variations
            .iter()
            .map(|(v, _)| v.dir_name.as_str())
            .collect();
        assert_eq!(
            labels,
            [
                "isl_32__concurrency_1",
                "isl_32__concurrency_2",
                "isl_64__concurrency_1",
                "isl_64__concurrency_2"
            ]
        );
        assert_eq!(
            e.variations[1].0.label,
            "datasets.main.prompts.isl=32, phases.profiling.concurrency=2"
        );
        let body = e.variations[3].1.get("benchmark").unwrap();
        let phase = &body.get("phases").unwrap().as_seq().unwrap()[0];
        assert_eq!(phase.get("concurrency").unwrap().value, Value::Int(2));
    }

    #[test]
    fn scenarios_merge_by_name() {
        let doc = envelope(
            "benchmark:\n  dataset: {prompts: {isl: {mean: 64, stddev: 4}}}\n  phases:\n    - \
             {name: profiling, type: poisson, rate: 5, requests: 9}\nsweep:\n  type: scenarios\n  \
             runs:\n    - name: big\n      benchmark:\n        dataset: {prompts: {isl: {mean: \
             512, median: 400}}}\n        phases: [{name: profiling, rate: 7}]\n",
        );
        let e = expand(&doc).unwrap();
        let (v, env) = &e.variations[0];
        assert_eq!(v.dir_name, "big");
        let body = env.get("benchmark").unwrap();
        let phase = &body.get("phases").unwrap().as_seq().unwrap()[0];
        assert_eq!(phase.get("rate").unwrap().value, Value::Int(7));
        assert_eq!(phase.get("requests").unwrap().value, Value::Int(9));
        let isl = body.get("datasets").unwrap().as_seq().unwrap()[0]
            .get("prompts")
            .unwrap()
            .get("isl")
            .unwrap();
        assert!(
            isl.get("stddev").is_none(),
            "a distribution's kind change replaces it"
        );
    }

    #[test]
    fn bad_paths_are_named() {
        assert!(
            resolve_path("benchmark.phases.profiling.rate")
                .unwrap_err()
                .contains("benchmark.")
        );
        assert!(resolve_path("multi_run.num_runs").is_err());
        assert_eq!(resolve_path("rate").unwrap(), "phases.profiling.rate");
    }
}
