//! The document's shape made canonical before it is read: the envelope's keys checked, the
//! legacy flat shape (body keys at the top) moved under `benchmark:`, and the shorthands
//! expanded (`model:`, `dataset:`, a flat `phases:` mapping, `warmup:`/`profiling:`,
//! top-level `isl`/`osl` of a synthetic dataset). Keys keep their spelling; every reader
//! matches snake_case and camelCase alike.

use super::Problem;
use super::keys::unknown_key;
use super::yaml::{Key, Node, Value};

/// The envelope's own keys (snake_case); their camelCase spellings are accepted too.
pub(super) const ENVELOPE_KEYS: [&str; 8] = [
    "schema_version",
    "benchmark",
    "sweep",
    "multi_run",
    "plot",
    "variables",
    "random_seed",
    "no_sweep_table",
];

/// Keys of the benchmark body that the legacy flat shape has at the top level.
const BODY_KEYS: [&str; 15] = [
    "model",
    "models",
    "endpoint",
    "dataset",
    "datasets",
    "phases",
    "artifacts",
    "slos",
    "tokenizer",
    "gpu_telemetry",
    "server_metrics",
    "runtime",
    "logging",
    "metrics",
    "accuracy",
];

/// Checks the envelope, moves a flat shape's body keys under `benchmark:` (with a warning
/// in `warnings`) and returns nothing: `root` is changed in place.
pub(super) fn envelope(root: &mut Node, warnings: &mut Vec<String>) -> Result<(), Problem> {
    let line = root.line;
    let Value::Map(entries) = &mut root.value else {
        let what = root.kind();
        return Err(Problem::at(
            line,
            if matches!(root.value, Value::Null) {
                "the configuration file is empty".to_owned()
            } else {
                format!("the configuration must be a YAML mapping, got {what}")
            },
        ));
    };
    let mut body_entries: Vec<(Key, Node)> = Vec::new();
    let mut kept = Vec::new();
    for (key, value) in std::mem::take(entries) {
        let snake = key.snake();
        if ENVELOPE_KEYS.contains(&snake.as_str()) {
            kept.push((key, value));
        } else if BODY_KEYS.contains(&snake.as_str()) {
            body_entries.push((key, value));
        } else {
            let mut known: Vec<String> = ENVELOPE_KEYS.iter().map(|k| (*k).to_owned()).collect();
            known.extend(ENVELOPE_KEYS.iter().map(|k| camel(k)));
            return Err(unknown_key(&key, "", &known));
        }
    }
    *entries = kept;
    if !body_entries.is_empty() {
        let names: Vec<&str> = body_entries.iter().map(|(k, _)| k.name.as_str()).collect();
        warnings.push(format!(
            "the file uses the flat shape without `benchmark:` (top-level keys: {}); read as \
             if they were nested under `benchmark:`, which is what to write",
            names.join(", ")
        ));
        match root.get_mut("benchmark") {
            Some(body) if body.as_map().is_some() => {
                for (key, value) in body_entries {
                    if body.get(&key.snake()).is_none() {
                        body.as_map_mut()
                            .into_iter()
                            .for_each(|m| m.push((key.clone(), value.clone())));
                    }
                }
            }
            _ => root.set("benchmark", Node::map(line, body_entries)),
        }
    }
    if let Some(version) = root.get("schema_version") {
        let ok = match &version.value {
            Value::Str(s) => s == "2.0",
            Value::Float(f) => *f == 2.0,
            _ => false,
        };
        if !ok {
            return Err(Problem::at(
                version.line,
                format!(
                    "schemaVersion: {} is not supported; this format is \"2.0\"",
                    version.scalar_text()
                ),
            ));
        }
    }
    match root.get("benchmark") {
        None => Err(Problem::at(
            line,
            "benchmark: required (the workload: model, endpoint, dataset, phases)",
        )),
        Some(b) if b.as_map().is_none() => Err(Problem::at(
            b.line,
            format!("benchmark: must be a mapping, got {}", b.kind()),
        )),
        Some(_) => Ok(()),
    }
}

/// `snake_case` → `snakeCase`.
pub(super) fn camel(name: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Expands the body's shorthands in place (the body of the envelope, or a scenario's).
pub(super) fn body(body: &mut Node) -> Result<(), Problem> {
    let line = body.line;
    for (one, many) in [("model", "models"), ("dataset", "datasets")] {
        if let (Some(a), Some(_)) = (body.get(one), body.get(many)) {
            return Err(Problem::at(
                a.line,
                format!("{one}: cannot be used with {many}; give one of them"),
            ));
        }
    }
    for single in ["warmup", "profiling"] {
        if let (Some(a), Some(_)) = (body.get(single), body.get("phases")) {
            return Err(Problem::at(
                a.line,
                format!(
                    "{single}: cannot be used with phases; use warmup/profiling for simple configs or phases"
                ),
            ));
        }
    }
    if let Some(w) = body.get("warmup")
        && body.get("profiling").is_none()
    {
        return Err(Problem::at(
            w.line,
            "warmup: needs a profiling phase too (a warmup alone measures nothing)",
        ));
    }
    let mut phases = Vec::new();
    for name in ["warmup", "profiling"] {
        if let Some((key, mut phase)) = body.take(name) {
            if phase.as_map().is_some() {
                prepend(&mut phase, "name", Node::str(key.line, name));
                prepend_kind(&mut phase, name);
            }
            phases.push(phase);
        }
    }
    if !phases.is_empty() {
        body.set("phases", Node::new(line, Value::Seq(phases)));
    }
    if let Some((key, model)) = body.take("model") {
        body.as_map_mut()
            .into_iter()
            .for_each(|m| m.push((Key::new("models", key.line), model.clone())));
    }
    if let Some((key, mut dataset)) = body.take("dataset") {
        if dataset.as_map().is_some() && dataset.get("name").is_none() {
            prepend(&mut dataset, "name", Node::str(key.line, "default"));
        }
        let list = Node::new(key.line, Value::Seq(vec![dataset]));
        body.as_map_mut()
            .into_iter()
            .for_each(|m| m.push((Key::new("datasets", key.line), list.clone())));
    }
    if let Some(phases) = body.get_mut("phases") {
        if let Some(flat) = phases.as_map() {
            if flat.iter().any(|(k, _)| k.name == "type") {
                let mut phase = phases.clone();
                if phase.get("name").is_none() {
                    prepend(&mut phase, "name", Node::str(phases.line, "profiling"));
                    prepend_kind(&mut phase, "profiling");
                }
                *phases = Node::new(phases.line, Value::Seq(vec![phase]));
            } else {
                return Err(Problem::at(
                    phases.line,
                    "phases: a mapping is one phase and needs its `type` (concurrency, poisson, \
                     gamma, constant, user_centric, fixed_schedule); several phases are a list",
                ));
            }
        }
        if let Value::Seq(items) = &mut phases.value {
            for phase in items.iter_mut() {
                if let Some(name) = phase.get("name").and_then(Node::as_str).map(str::to_owned)
                    && (name == "warmup" || name == "profiling")
                {
                    prepend_kind(phase, &name);
                }
            }
        }
    }
    if let Some(Value::Seq(datasets)) = body.get_mut("datasets").map(|d| &mut d.value) {
        for dataset in datasets.iter_mut() {
            hoist_lengths(dataset);
        }
    }
    Ok(())
}

fn prepend(node: &mut Node, name: &str, value: Node) {
    if let Some(map) = node.as_map_mut() {
        let line = value.line;
        map.insert(0, (Key::new(name, line), value));
    }
}

fn prepend_kind(phase: &mut Node, kind: &str) {
    if phase.get("kind").is_none()
        && let Some(map) = phase.as_map_mut()
    {
        let at = usize::from(!map.is_empty() && map[0].0.name == "name");
        let line = map.first().map_or(0, |(k, _)| k.line);
        map.insert(at, (Key::new("kind", line), Node::str(line, kind)));
    }
}

/// A synthetic dataset's `isl:`/`osl:` are shorthands for `prompts.isl`/`prompts.osl`.
fn hoist_lengths(dataset: &mut Node) {
    let synthetic = dataset
        .get("type")
        .and_then(Node::as_str)
        .is_none_or(|t| t == "synthetic");
    if !synthetic || dataset.as_map().is_none() {
        return;
    }
    for key in ["isl", "osl"] {
        let Some((k, value)) = dataset.take(key) else {
            continue;
        };
        if dataset.get("prompts").is_none() {
            dataset.set("prompts", Node::map(k.line, Vec::new()));
        }
        if let Some(prompts) = dataset.get_mut("prompts")
            && prompts.get(key).is_none()
        {
            prompts.set(key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::yaml::parse;
    use super::*;

    #[test]
    fn shorthands_expand() {
        let mut doc = parse(
            "benchmark:\n  model: m\n  dataset: {isl: 64, osl: 8}\n  phases: {type: concurrency, \
             concurrency: 2}\n",
        )
        .unwrap();
        let mut w = Vec::new();
        envelope(&mut doc, &mut w).unwrap();
        let b = doc.get_mut("benchmark").unwrap();
        body(b).unwrap();
        assert_eq!(b.get("models").unwrap().as_str(), Some("m"));
        let ds = &b.get("datasets").unwrap().as_seq().unwrap()[0];
        assert_eq!(ds.get("name").unwrap().as_str(), Some("default"));
        assert_eq!(
            ds.get("prompts").unwrap().get("isl").unwrap().value,
            Value::Int(64)
        );
        let phase = &b.get("phases").unwrap().as_seq().unwrap()[0];
        assert_eq!(phase.get("name").unwrap().as_str(), Some("profiling"));
        assert_eq!(phase.get("kind").unwrap().as_str(), Some("profiling"));
        assert!(w.is_empty());
    }

    #[test]
    fn flat_shape_moves_under_benchmark_with_a_warning() {
        let mut doc = parse("models: [m]\nphases: {type: concurrency}\nrandomSeed: 3\n").unwrap();
        let mut w = Vec::new();
        envelope(&mut doc, &mut w).unwrap();
        assert!(doc.get("benchmark").unwrap().get("models").is_some());
        assert!(w[0].contains("flat shape"), "{w:?}");
    }

    #[test]
    fn unknown_envelope_key_suggests() {
        let mut doc = parse("benchmark: {}\nsweeps: {}\n").unwrap();
        let e = envelope(&mut doc, &mut Vec::new()).unwrap_err();
        assert!(e.message.contains("did you mean 'sweep'"), "{}", e.message);
        assert_eq!(e.line, Some(2));
    }
}
