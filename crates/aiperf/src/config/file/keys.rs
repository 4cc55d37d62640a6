//! Unknown keys: the error names the key's path and, when one is close, the key meant.

use super::Problem;
use super::yaml::Key;

/// `path.key: unknown key (did you mean 'x'?)` at the key's line.
pub(super) fn unknown_key<S: AsRef<str>>(key: &Key, path: &str, known: &[S]) -> Problem {
    let full = join(path, &key.name);
    let hint = suggest(&key.name, known)
        .or_else(|| suggest(&key.snake(), known))
        .map(|s| format!(" (did you mean '{s}'?)"))
        .unwrap_or_default();
    Problem::at(key.line, format!("{full}: unknown key{hint}"))
}

/// `a.b` (or `b` at the top).
pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// The known name closest to `name`, when it is close enough to be a typo (similarity of
/// at least 0.6, as Python's difflib judges close matches).
pub(super) fn suggest<'a, S: AsRef<str>>(name: &str, known: &'a [S]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (k.as_ref(), similarity(name, k.as_ref())))
        .filter(|(_, s)| *s >= 0.6)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(k, _)| k)
}

/// 1 for equal strings, 0 for nothing in common: characters kept by the cheapest edit,
/// relative to both lengths.
fn similarity(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let total = a.len() + b.len();
    if total == 0 {
        return 1.0;
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    let distance = previous[b.len()];
    (total.saturating_sub(distance)) as f64 / total as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_key() {
        let known = ["concurrency", "prefill_concurrency", "requests", "rate"];
        assert_eq!(suggest("concurency", &known), Some("concurrency"));
        assert_eq!(suggest("request", &known), Some("requests"));
        assert_eq!(suggest("xyz", &known), None);
        let p = unknown_key(&Key::new("concurency", 14), "benchmark.phases[1]", &known);
        assert_eq!(p.line, Some(14));
        assert_eq!(
            p.message,
            "benchmark.phases[1].concurency: unknown key (did you mean 'concurrency'?)"
        );
    }
}
