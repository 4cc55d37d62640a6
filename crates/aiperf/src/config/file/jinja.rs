//! `variables:` and `{{ expression }}` values. Strings holding `{{ }}` or `{% %}` are
//! rendered with the variables and the document's own values in scope (`{{ phases.profiling
//! .rate }}` names the phase called `profiling`); the rendered text is read as a boolean or
//! number when it is one. An undefined name is an error, never an empty string.

use std::collections::{BTreeMap, BTreeSet};

use minijinja::{Environment, UndefinedBehavior, Value as Jinja};

use super::Problem;
use super::env::coerce;
use super::yaml::{Node, Value};

/// Fields whose templates are request templates, rendered per request by the endpoint.
const SKIP_FIELDS: [&str; 3] = ["template", "body", "payload_template"];

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env
}

/// Renders every template of the envelope `root` in place; `variables:` is resolved first.
pub(super) fn render_document(root: &mut Node) -> Result<(), Problem> {
    if !contains_template(root) {
        return Ok(());
    }
    let env = environment();
    let context = build_context(&env, root)?;
    for (key, node) in root.as_map_mut().into_iter().flatten() {
        if key.name == "variables" {
            continue;
        }
        render_node(&env, node, &context, &key.name)?;
    }
    Ok(())
}

fn contains_template(node: &Node) -> bool {
    match &node.value {
        Value::Str(s) => is_template(s),
        Value::Seq(items) => items.iter().any(contains_template),
        Value::Map(m) => m.iter().any(|(_, v)| contains_template(v)),
        _ => false,
    }
}

fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%")
}

/// The names templates may use: the envelope's keys, the `benchmark:` body's keys lifted to
/// the top, and the resolved `variables:`.
fn build_context(env: &Environment<'_>, root: &Node) -> Result<BTreeMap<String, Jinja>, Problem> {
    let mut context = BTreeMap::new();
    for (key, value) in root.as_map().into_iter().flatten() {
        if key.name != "variables" {
            context.insert(key.name.clone(), to_jinja(value));
        }
    }
    if let Some(body) = root.get("benchmark") {
        for (key, value) in body.as_map().into_iter().flatten() {
            context.insert(key.name.clone(), to_jinja(value));
        }
    }
    if let Some(variables) = root.get("variables") {
        let Some(entries) = variables.as_map() else {
            return Err(Problem::at(
                variables.line,
                format!(
                    "variables must be a mapping of names to values, got {}",
                    variables.kind()
                ),
            ));
        };
        resolve_variables(env, entries, &mut context)?;
    }
    Ok(context)
}

/// Renders the variables in dependency order (a variable may use any other, in any order);
/// a cycle is an error naming its variables.
fn resolve_variables(
    env: &Environment<'_>,
    entries: &[(super::yaml::Key, Node)],
    context: &mut BTreeMap<String, Jinja>,
) -> Result<(), Problem> {
    let names: BTreeSet<String> = entries.iter().map(|(k, _)| k.name.clone()).collect();
    for name in &names {
        context.remove(name);
    }
    let mut pending: BTreeMap<String, (BTreeSet<String>, Node)> = BTreeMap::new();
    for (key, value) in entries {
        let mut refs = BTreeSet::new();
        references(env, value, &names, &mut refs);
        refs.remove(&key.name);
        pending.insert(key.name.clone(), (refs, value.clone()));
    }
    while !pending.is_empty() {
        let ready: Vec<String> = pending
            .iter()
            .filter(|(_, (deps, _))| deps.is_empty())
            .map(|(n, _)| n.clone())
            .collect();
        if ready.is_empty() {
            let cycle: Vec<&str> = pending.keys().map(String::as_str).collect();
            let line = pending.values().map(|(_, n)| n.line).min().unwrap_or(0);
            return Err(Problem::at(
                line,
                format!(
                    "variables: circular reference among {} (each depends on another)",
                    cycle.join(", ")
                ),
            ));
        }
        for name in ready {
            let Some((_, mut node)) = pending.remove(&name) else {
                continue;
            };
            render_node(env, &mut node, context, &format!("variables.{name}"))?;
            context.insert(name.clone(), to_jinja(&node));
            for (deps, _) in pending.values_mut() {
                deps.remove(&name);
            }
        }
    }
    Ok(())
}

/// The names among `candidates` the templates in `node` use.
fn references(
    env: &Environment<'_>,
    node: &Node,
    candidates: &BTreeSet<String>,
    out: &mut BTreeSet<String>,
) {
    match &node.value {
        Value::Str(s) if is_template(s) => {
            if let Ok(template) = env.template_from_str(s) {
                out.extend(
                    template
                        .undeclared_variables(false)
                        .into_iter()
                        .filter(|n| candidates.contains(n)),
                );
            }
        }
        Value::Seq(items) => items
            .iter()
            .for_each(|n| references(env, n, candidates, out)),
        Value::Map(m) => m
            .iter()
            .for_each(|(_, n)| references(env, n, candidates, out)),
        _ => {}
    }
}

/// Renders the templates under `node` (`path` names it in messages).
pub(super) fn render_node(
    env: &Environment<'_>,
    node: &mut Node,
    context: &BTreeMap<String, Jinja>,
    path: &str,
) -> Result<(), Problem> {
    let field = path.rsplit('.').next().unwrap_or_default();
    if SKIP_FIELDS.contains(&field) || path.ends_with("artifacts.user_files") {
        return Ok(());
    }
    match &mut node.value {
        Value::Str(s) if is_template(s) => {
            if (s.contains("{{") && !s.contains("}}")) || (s.contains("{%") && !s.contains("%}")) {
                return Err(Problem::at(
                    node.line,
                    format!("{path}: unbalanced template markers in {s:?}"),
                ));
            }
            let rendered = env.render_str(s, context).map_err(|e| {
                Problem::at(node.line, format!("{path}: template {s:?}: {}", reason(&e)))
            })?;
            node.value = coerce(&rendered);
        }
        Value::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                render_node(env, item, context, &format!("{path}.{i}"))?;
            }
        }
        Value::Map(m) => {
            for (key, item) in m.iter_mut() {
                render_node(env, item, context, &format!("{path}.{}", key.name))?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn reason(e: &minijinja::Error) -> String {
    let mut text = e.to_string();
    if let Some(detail) = e.detail() {
        text = format!("{text} ({detail})");
    }
    text
}

/// The document value for templates; a list of named entries (phases, datasets) is a
/// mapping by name, so `phases.profiling.rate` reads the phase called `profiling`.
fn to_jinja(node: &Node) -> Jinja {
    match &node.value {
        Value::Null => Jinja::from(()),
        Value::Bool(b) => Jinja::from(*b),
        Value::Int(i) => Jinja::from(*i),
        Value::Float(f) => Jinja::from(*f),
        Value::Str(s) => Jinja::from(s.clone()),
        Value::Seq(items) => {
            let named = !items.is_empty()
                && items
                    .iter()
                    .all(|i| i.get("name").and_then(Node::as_str).is_some());
            if named {
                let map: BTreeMap<String, Jinja> = items
                    .iter()
                    .map(|i| {
                        let name = i.get("name").and_then(Node::as_str).unwrap_or_default();
                        (name.to_owned(), to_jinja(i))
                    })
                    .collect();
                Jinja::from(map)
            } else {
                Jinja::from(items.iter().map(to_jinja).collect::<Vec<_>>())
            }
        }
        Value::Map(m) => {
            let map: BTreeMap<String, Jinja> = m
                .iter()
                .map(|(k, v)| (k.name.clone(), to_jinja(v)))
                .collect();
            Jinja::from(map)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::yaml::parse;
    use super::*;

    fn rendered(text: &str) -> Result<Node, Problem> {
        let mut doc = parse(text).unwrap();
        render_document(&mut doc).map(|()| doc)
    }

    #[test]
    fn variables_in_any_order_and_arithmetic() {
        let doc = rendered(
            "variables:\n  double: \"{{ base * 2 }}\"\n  base: 16\nbenchmark:\n  phases:\n    \
             - name: profiling\n      concurrency: \"{{ double // 4 }}\"\n      rate: \"{{ 2.5 }}\"\n",
        )
        .unwrap();
        let phase = &doc
            .get("benchmark")
            .unwrap()
            .get("phases")
            .unwrap()
            .as_seq()
            .unwrap()[0];
        assert_eq!(phase.get("concurrency").unwrap().value, Value::Int(8));
        assert_eq!(phase.get("rate").unwrap().value, Value::Float(2.5));
    }

    #[test]
    fn document_values_by_name() {
        let doc = rendered(
            "benchmark:\n  phases:\n    - {name: profiling, rate: 4}\n  artifacts:\n    dir: \
             \"out-{{ phases.profiling.rate }}\"\n",
        )
        .unwrap();
        let dir = doc
            .get("benchmark")
            .unwrap()
            .get("artifacts")
            .unwrap()
            .get("dir")
            .unwrap();
        assert_eq!(dir.value, Value::Str("out-4".into()));
    }

    #[test]
    fn undefined_names_and_cycles_are_errors() {
        let e = rendered("variables: {a: 1}\nbenchmark: {x: \"{{ b }}\"}\n").unwrap_err();
        assert!(e.message.contains("benchmark.x"), "{}", e.message);
        assert_eq!(e.line, Some(2));
        let e = rendered("variables: {a: \"{{ b }}\", b: \"{{ a }}\"}\n").unwrap_err();
        assert!(e.message.contains("circular"), "{}", e.message);
    }
}
