//! The YAML document as a tree that remembers the line of every key and value, so that an
//! error can point at the line it is about.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A value of the document and the line it starts on (1-based; 0 when it was made by the
/// loader rather than read).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Node {
    pub(super) line: u32,
    pub(super) value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

/// A mapping key: its name as written (`rateRamp`), and its line.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Key {
    pub(super) name: String,
    pub(super) line: u32,
}

impl Key {
    pub(super) fn new(name: impl Into<String>, line: u32) -> Self {
        Self {
            name: name.into(),
            line,
        }
    }

    /// The name in snake_case, as the sections know it (`rateRamp` → `rate_ramp`).
    pub(super) fn snake(&self) -> String {
        snake_case(&self.name)
    }
}

/// `camelCase` → `camel_case`; snake_case names are returned unchanged.
pub(super) fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

impl Node {
    pub(super) fn new(line: u32, value: Value) -> Self {
        Self { line, value }
    }

    pub(super) fn str(line: u32, s: impl Into<String>) -> Self {
        Self::new(line, Value::Str(s.into()))
    }

    pub(super) fn map(line: u32, entries: Vec<(Key, Node)>) -> Self {
        Self::new(line, Value::Map(entries))
    }

    pub(super) fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub(super) fn as_map_mut(&mut self) -> Option<&mut Vec<(Key, Node)>> {
        match &mut self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub(super) fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub(super) fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The entry whose key is `name` in snake_case or as written.
    pub(super) fn get(&self, name: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.name == name || k.snake() == name)
            .map(|(_, v)| v)
    }

    pub(super) fn get_mut(&mut self, name: &str) -> Option<&mut Node> {
        self.as_map_mut()?
            .iter_mut()
            .find(|(k, _)| k.name == name || k.snake() == name)
            .map(|(_, v)| v)
    }

    /// Removes and returns the entry `name` (snake_case or as written).
    pub(super) fn take(&mut self, name: &str) -> Option<(Key, Node)> {
        let map = self.as_map_mut()?;
        let i = map
            .iter()
            .position(|(k, _)| k.name == name || k.snake() == name)?;
        Some(map.remove(i))
    }

    /// Sets `name` to `value`, replacing an entry of that name.
    pub(super) fn set(&mut self, name: &str, value: Node) {
        if let Some(slot) = self.get_mut(name) {
            *slot = value;
        } else if let Some(map) = self.as_map_mut() {
            let line = value.line;
            map.push((Key::new(name, line), value));
        }
    }

    /// What kind of value this is, for messages.
    pub(super) fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// The value as one line of text, as YAML would write a scalar (lists and mappings as
    /// JSON).
    pub(super) fn scalar_text(&self) -> String {
        match &self.value {
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format_float(*f),
            Value::Str(s) => s.clone(),
            _ => self.to_json().to_string(),
        }
    }

    pub(super) fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(s) => J::Array(s.iter().map(Node::to_json).collect()),
            Value::Map(m) => J::Object(
                m.iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// Every node of the tree, depth first, mutably.
    pub(super) fn walk_mut(&mut self, f: &mut dyn FnMut(&mut Node)) {
        f(self);
        match &mut self.value {
            Value::Seq(s) => s.iter_mut().for_each(|n| n.walk_mut(f)),
            Value::Map(m) => m.iter_mut().for_each(|(_, n)| n.walk_mut(f)),
            _ => {}
        }
    }
}

/// A float as Python prints it: `30.0`, `0.5`, `1e-07` stays readable.
pub(super) fn format_float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.1}")
    } else {
        f.to_string()
    }
}

/// Why the text is not a YAML document, with its line when the parser knows it.
#[derive(Debug)]
pub(super) struct ParseError {
    pub(super) line: Option<u32>,
    pub(super) message: String,
}

/// Parses YAML text into a [`Node`] tree. Duplicate keys are an error (as in the Python
/// AIPerf), as is a key that is not a string.
pub(super) fn parse(text: &str) -> Result<Node, ParseError> {
    match serde_saphyr::from_str::<Spanned<Value>>(text) {
        Ok(root) => Ok(Node::new(line_of(&root), root.value)),
        Err(e) => {
            let line = e.location().map(|l| l.line() as u32);
            let message = e.to_string();
            // The parser's own text starts with "error: line N column M: ..." and adds a
            // snippet; keep the one-line reason.
            let first = message.lines().next().unwrap_or_default();
            let reason = first
                .strip_prefix("error: ")
                .unwrap_or(first)
                .split_once(": ")
                .filter(|(pos, _)| pos.starts_with("line "))
                .map_or(first, |(_, rest)| rest);
            Err(ParseError {
                line,
                message: reason.trim().to_owned(),
            })
        }
    }
}

fn line_of<T>(s: &Spanned<T>) -> u32 {
    u32::try_from(s.referenced.line()).unwrap_or(0)
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        i64::try_from(u)
            .map(Value::Int)
            .or(Ok(Value::Float(u as f64)))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Float(f))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::Str(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::Str(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Value>>()? {
            out.push(Node::new(line_of(&item), item.value));
        }
        Ok(Value::Seq(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out: Vec<(Key, Node)> = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            let value = map.next_value::<Spanned<Value>>()?;
            out.push((
                Key::new(key.value.clone(), line_of(&key)),
                Node::new(line_of(&value), value.value),
            ));
        }
        Ok(Value::Map(out))
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_keys_and_values() {
        let doc = parse("# c\na: 1\nb:\n  - x: yes\n    y: 1.5\n  - \"5\"\n").unwrap();
        let b = doc.get("b").unwrap();
        assert_eq!(doc.get("a").unwrap().value, Value::Int(1));
        let items = b.as_seq().unwrap();
        assert_eq!(items[0].line, 4);
        assert_eq!(items[0].get("x").unwrap().value, Value::Bool(true));
        assert_eq!(items[0].get("y").unwrap().line, 5);
        assert_eq!(items[1].value, Value::Str("5".into()));
    }

    #[test]
    fn duplicate_keys_and_syntax_errors_name_the_line() {
        let e = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("duplicate"), "{}", e.message);
        let e = parse("a: [1\n").unwrap_err();
        assert_eq!(e.line, Some(1));
    }

    #[test]
    fn camel_keys_read_as_snake() {
        assert_eq!(snake_case("rateRamp"), "rate_ramp");
        assert_eq!(snake_case("gpu_telemetry"), "gpu_telemetry");
        let doc = parse("multiRun: {numRuns: 3}").unwrap();
        assert_eq!(
            doc.get("multi_run").unwrap().get("num_runs").unwrap().value,
            Value::Int(3)
        );
    }
}
