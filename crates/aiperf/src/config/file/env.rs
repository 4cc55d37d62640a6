//! `${VAR}` and `${VAR:default}` in string values, replaced by the environment before
//! anything else reads the document. A value that is only a reference takes the type its
//! text reads as (`600.0` a number, `true` a boolean), as in the Python AIPerf.

use super::Problem;
use super::yaml::{Node, Value};

/// Replaces the references in every string of `node`. `lookup` reads a variable (the
/// environment, or a map in tests).
pub(super) fn substitute(
    node: &mut Node,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), Problem> {
    let mut failure = None;
    node.walk_mut(&mut |n| {
        if failure.is_some() {
            return;
        }
        if let Value::Str(text) = &n.value
            && text.contains("${")
        {
            match substitute_str(text, lookup) {
                Ok(value) => n.value = value,
                Err(message) => failure = Some(Problem::at(n.line, message)),
            }
        }
    });
    failure.map_or(Ok(()), Err)
}

/// One string: every `${NAME}` / `${NAME:default}` replaced; a string that is nothing but
/// one reference is read as a boolean or number when its text is one.
pub(super) fn substitute_str(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Value, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut references = 0;
    let mut whole = false;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}').filter(|&e| !after[..e].contains('\n')) else {
            return Err(format!(
                "unterminated environment variable reference in {text:?}: `${{` has no closing \
                 `}}`"
            ));
        };
        let inner = &after[..end];
        let (name, default) = match inner.split_once(':') {
            Some((name, default)) => (name, Some(default)),
            None => (inner, None),
        };
        if !valid_name(name) {
            // Not a reference (e.g. `${1}`): keep the text as it is.
            out.push_str(&rest[..start + 2]);
            rest = after;
            continue;
        }
        references += 1;
        whole = start == 0 && end + 3 == rest.len() && out.is_empty();
        out.push_str(&rest[..start]);
        match (lookup(name), default) {
            (Some(value), _) => out.push_str(&value),
            (None, Some(default)) => out.push_str(default),
            (None, None) => {
                return Err(format!(
                    "required environment variable {name} is not set (set it, or give a \
                     default: ${{{name}:default}})"
                ));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    if references == 1 && whole {
        Ok(coerce(&out))
    } else {
        Ok(Value::Str(out))
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Text read as a boolean (`true`/`false`, any case), an integer, a float, or kept as text.
pub(super) fn coerce(text: &str) -> Value {
    if text.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if text.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    let t = text.trim();
    if let Ok(i) = t.replace('_', "").parse::<i64>()
        && !t.is_empty()
        && !t.starts_with('_')
    {
        return Value::Int(i);
    }
    if let Ok(f) = t.parse::<f64>()
        && t.chars().any(|c| c.is_ascii_digit())
    {
        return Value::Float(f);
    }
    Value::Str(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "MODEL" => Some("llama".into()),
            "TIMEOUT" => Some("600.0".into()),
            "STREAM" => Some("true".into()),
            _ => None,
        }
    }

    #[test]
    fn references_defaults_and_types() {
        assert_eq!(
            substitute_str("${MODEL}", &env).unwrap(),
            Value::Str("llama".into())
        );
        assert_eq!(
            substitute_str("${TIMEOUT}", &env).unwrap(),
            Value::Float(600.0)
        );
        assert_eq!(
            substitute_str("${STREAM}", &env).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(substitute_str("${N:8}", &env).unwrap(), Value::Int(8));
        assert_eq!(
            substitute_str("${N:}", &env).unwrap(),
            Value::Str(String::new())
        );
        assert_eq!(
            substitute_str("http://${HOST:localhost}:${PORT:8000}/v1", &env).unwrap(),
            Value::Str("http://localhost:8000/v1".into())
        );
        assert_eq!(
            substitute_str("a-${N:5}", &env).unwrap(),
            Value::Str("a-5".into())
        );
    }

    #[test]
    fn a_required_variable_that_is_unset_is_named() {
        let e = substitute_str("${OPENAI_API_KEY}", &env).unwrap_err();
        assert!(e.contains("OPENAI_API_KEY"), "{e}");
        let e = substitute_str("${UNTERMINATED", &env).unwrap_err();
        assert!(e.contains("unterminated"), "{e}");
    }
}
