//! `template`: a request body of the user's own design, rendered with Jinja from
//! `--extra-inputs payload_template:<template>` (a file's path, a built-in template's name or
//! the template itself) and posted to the URL as given: no path is appended. The other
//! `--extra-inputs` are merged into the rendered object. Answers are read as `raw` reads them
//! (see [`super::raw`]), except that a `response_field` that finds nothing in an answer is not
//! followed by auto-detection: that answer carries no text.
//!
//! The template sees the turn as the Python AIPerf shows it: `text`/`texts`, `image(s)`,
//! `audio(s)`, `video(s)`, `query`/`queries` and `passage`/`passages` (named texts),
//! `texts_by_name` (and the media's `*_by_name`), `model`, `max_tokens`, `role`, `stream`,
//! `turn`, `turns` and `request_info.system_message`. As in Jinja2 with auto-escaping on, a
//! plain value is HTML-escaped where it is written, and `|tojson` writes valid JSON: `{"prompt":
//! {{ text|tojson }}}` is how a prompt goes into a JSON string.
//!
//! The template is resolved (file or name) and checked to render a JSON object before the run
//! ([`check_body_template`]); the run's configured type holds it compiled, with its
//! `response_field` ([`Compiled`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use minijinja::{Environment, Value as Jinja};
use serde_json::{Map, Value};

use super::raw::{self, Field, OnMiss};
use super::{Decoded, Endpoint, invalid_turn, snippet};
use crate::UsageError;
use crate::dataset::Turn;
use crate::record::ErrorDetails;
use crate::settings::EndpointConfig;

/// The `--extra-inputs` key of the body template.
pub(super) const TEMPLATE: &str = "payload_template";
/// The `--extra-inputs` key of the JMESPath to the answer's text.
pub(super) const RESPONSE_FIELD: &str = "response_field";

/// Templates known by name (as the Python AIPerf names them).
const NAMED: &[(&str, &str)] = &[("nv-embedqa", r#"{"text": {{ texts|tojson }}}"#)];

/// The name the template is compiled under (it appears in template errors).
const NAME: &str = "payload_template";

#[derive(Debug, Clone)]
pub(super) struct Template(Compiled);

impl Template {
    /// The type before a run configures it.
    pub(super) const UNCONFIGURED: Self = Self(Compiled::NONE);
}

impl Endpoint for Template {
    fn name(&self) -> &'static str {
        "template"
    }

    fn default_path(&self, _streaming: bool) -> &'static str {
        ""
    }

    fn configure(&self, settings: &EndpointConfig) -> Result<Arc<dyn Endpoint>, UsageError> {
        Ok(Arc::new(Self(Compiled::new(settings)?)))
    }

    fn body(
        &self,
        settings: &EndpointConfig,
        model: &str,
        turn: &Turn,
        _history: &[Value],
    ) -> Result<Map<String, Value>, ErrorDetails> {
        self.0.render_body(settings, model, turn)
    }

    fn usage_hint(&self) -> &'static str {
        raw::USAGE_HINT
    }

    fn decode(&self, frames: &[(u64, Bytes)], _streaming: bool) -> Result<Decoded, ErrorDetails> {
        raw::decode_answer(frames, self.0.field(), OnMiss::NoText)
    }
}

/// What `template` and `raw` compile once for a run: the body template (`payload_template`,
/// resolved to its text before the run) and the answers' `response_field`. Without them (a
/// type not configured for a run) the template is compiled for each body, and answers are read
/// without a field.
#[derive(Debug, Clone)]
pub(super) struct Compiled {
    template: Option<Arc<Environment<'static>>>,
    field: Option<Arc<Field>>,
}

impl Compiled {
    pub(super) const NONE: Self = Self {
        template: None,
        field: None,
    };

    /// Compiles the template and `response_field` of `settings` (a `response_field` of
    /// `text`, the Python AIPerf's default, is the same as none: the usual shapes are read).
    pub(super) fn new(settings: &EndpointConfig) -> Result<Self, UsageError> {
        let template = match template_text(&settings.extra_inputs) {
            Some(source) => Some(compile(&source).map_err(|why| {
                UsageError::new(format!(
                    "--extra-inputs {TEMPLATE}: the template must render a JSON object, but {why}"
                ))
            })?),
            None => None,
        };
        let field = match settings.extra_inputs.get(RESPONSE_FIELD) {
            None => None,
            Some(Value::String(f)) if f == "text" => None,
            Some(Value::String(f)) => {
                Some(Arc::new(raw::compile_field(f).map_err(UsageError::new)?))
            }
            Some(other) => return Err(UsageError::new(not_a_field(other))),
        };
        Ok(Self { template, field })
    }

    /// The compiled `response_field`.
    pub(super) fn field(&self) -> Option<&Field> {
        self.field.as_deref()
    }

    /// The body `payload_template` renders for `turn`, with the other `--extra-inputs` merged
    /// in (over the template's keys, as the Python AIPerf merges them), or why the template
    /// cannot render this turn (the check before the run rendered a sample, not every turn).
    pub(super) fn render_body(
        &self,
        settings: &EndpointConfig,
        model: &str,
        turn: &Turn,
    ) -> Result<Map<String, Value>, ErrorDetails> {
        let vars = variables(settings.streaming, model, turn);
        let rendered = match &self.template {
            Some(env) => render_with(env, vars),
            None => render(
                &template_text(&settings.extra_inputs).unwrap_or_default(),
                vars,
            ),
        };
        let mut body = rendered.map_err(|why| {
            invalid_turn(format!(
                "--extra-inputs {TEMPLATE}: the template cannot render this turn as a request \
                 body: {why}"
            ))
        })?;
        for (key, value) in &settings.extra_inputs {
            if key != TEMPLATE && key != RESPONSE_FIELD {
                body.insert(key.clone(), value.clone());
            }
        }
        Ok(body)
    }
}

/// Why a `response_field` that is not a string cannot be one.
fn not_a_field(given: &Value) -> String {
    format!(
        "--extra-inputs {RESPONSE_FIELD}: give a JMESPath to the answer's text, e.g. \
         {RESPONSE_FIELD}:choices[0].message.content (got {given})"
    )
}

/// The template text in `--extra-inputs` (a JSON value given there is its own template).
fn template_text(extra: &Map<String, Value>) -> Option<String> {
    match extra.get(TEMPLATE)? {
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Resolves and checks the body template of `template` and `raw` (and their `response_field`)
/// before a run: a `payload_template` naming a file becomes the file's text, a built-in name
/// its template, and the template must render a JSON object for a sample turn with the run's
/// output cap (`max_tokens`). `raw` needs a template unless the run reads an input file (whose
/// texts are the bodies). Other endpoint types are left alone. The error names the flag and
/// the fix.
pub fn check_body_template(
    endpoint: &mut EndpointConfig,
    max_tokens: Option<u32>,
    has_input_file: bool,
) -> Result<(), String> {
    let kind = endpoint.kind.name();
    if kind != Template::UNCONFIGURED.name() && kind != raw::Raw::UNCONFIGURED.name() {
        return Ok(());
    }
    if let Some(field) = endpoint.extra_inputs.get(RESPONSE_FIELD) {
        let Some(field) = field.as_str() else {
            return Err(not_a_field(field));
        };
        raw::compile_field(field)?;
    }
    let Some(given) = template_text(&endpoint.extra_inputs) else {
        if kind == Template::UNCONFIGURED.name() {
            return Err(format!(
                "--endpoint-type template needs --extra-inputs {TEMPLATE}:<template>: a file with \
                 a Jinja template of the request body, a built-in name ({}), or the template \
                 itself, e.g. --extra-inputs '{TEMPLATE}:{{\"prompt\": {{{{ text|tojson }}}}}}'",
                builtin_names()
            ));
        }
        if !has_input_file {
            return Err(format!(
                "--endpoint-type raw sends each request body as the dataset gives it: give \
                 --input-file with whole JSON request bodies as its texts, or build the bodies \
                 with --extra-inputs {TEMPLATE}:<template> (a file, a built-in name or the \
                 template itself)"
            ));
        }
        return Ok(());
    };
    let text = resolve(&given)?;
    let sample = Turn {
        texts: vec!["Tell me about the sea.".into()],
        role: "user".into(),
        input_tokens: 6,
        max_tokens,
        ..Turn::default()
    };
    render(&text, variables(endpoint.streaming, "model", &sample)).map_err(|why| {
        let hint = if why.contains("JSON") {
            "; write values with |tojson, e.g. {\"prompt\": {{ text|tojson }}}"
        } else {
            ""
        };
        format!(
            "--extra-inputs {TEMPLATE}: the template must render a JSON object, but {why}{hint}"
        )
    })?;
    endpoint
        .extra_inputs
        .insert(TEMPLATE.into(), Value::String(text));
    Ok(())
}

/// The template text of `given`: a readable file's contents, a built-in template, or `given`
/// itself.
fn resolve(given: &str) -> Result<String, String> {
    let path = std::path::Path::new(given);
    if given.len() < 4096 && path.is_file() {
        return std::fs::read_to_string(path).map_err(|e| {
            format!("--extra-inputs {TEMPLATE}: cannot read the template file {given}: {e}")
        });
    }
    Ok(NAMED
        .iter()
        .find(|(name, _)| *name == given)
        .map_or(given, |(_, template)| template)
        .to_owned())
}

fn builtin_names() -> String {
    NAMED.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

/// The compiled template of `source`.
fn compile(source: &str) -> Result<Arc<Environment<'static>>, String> {
    let mut env = Environment::new();
    env.set_formatter(escape_as_jinja2);
    env.add_template_owned(NAME, source.to_owned())
        .map_err(|e| format!("it does not compile: {e}"))?;
    Ok(Arc::new(env))
}

/// Renders `source` with `vars`: the JSON object it writes, or why not.
fn render(source: &str, vars: Jinja) -> Result<Map<String, Value>, String> {
    render_with(&*compile(source)?, vars)
}

/// Renders the compiled template `env` with `vars`.
fn render_with(env: &Environment<'static>, vars: Jinja) -> Result<Map<String, Value>, String> {
    let text = env
        .get_template(NAME)
        .and_then(|t| t.render(vars))
        .map_err(|e| format!("it does not render: {e}"))?;
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(body)) => Ok(body),
        Ok(other) => Err(format!(
            "it rendered JSON that is not an object: {:?}",
            snippet(other.to_string().as_bytes())
        )),
        Err(e) => Err(format!(
            "what it rendered is not JSON ({e}): {:?}",
            snippet(text.as_bytes())
        )),
    }
}

/// Writes values as Jinja2 does with auto-escaping on: strings not marked safe are
/// HTML-escaped with Markupsafe's entities; `|tojson` output and everything else as is.
fn escape_as_jinja2(
    out: &mut minijinja::Output<'_>,
    state: &mut minijinja::State<'_, '_>,
    value: &Jinja,
) -> Result<(), minijinja::Error> {
    let Some(text) = value.as_str().filter(|_| !value.is_safe()) else {
        return minijinja::escape_formatter(out, state, value);
    };
    let mut start = 0;
    for (i, c) in text.char_indices() {
        let entity = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' => "&#34;",
            '\'' => "&#39;",
            _ => continue,
        };
        out.write_str(&text[start..i])?;
        out.write_str(entity)?;
        start = i + 1;
    }
    out.write_str(&text[start..])?;
    Ok(())
}

/// Every text of `turn`: the plain ones, then the named ones (a rankings query and passages)
/// that are not among them already.
pub(super) fn all_texts(turn: &Turn) -> Vec<String> {
    let mut texts = turn.texts.clone();
    for content in turn.named_texts.iter().flat_map(|(_, c)| c) {
        if !turn.texts.contains(content) {
            texts.push(content.clone());
        }
    }
    texts
}

/// A medium's contents as the Python AIPerf's turn holds them: `[{"name", "contents"}]`.
fn media(contents: &[String]) -> Jinja {
    if contents.is_empty() {
        return Jinja::from(Vec::<Jinja>::new());
    }
    let mut item = BTreeMap::new();
    item.insert("name", Jinja::from(()));
    item.insert("contents", Jinja::from(contents.to_vec()));
    Jinja::from(vec![Jinja::from(item)])
}

/// The variables a template sees for `turn`.
fn variables(streaming: bool, model: &str, turn: &Turn) -> Jinja {
    let texts = all_texts(turn);
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, contents) in &turn.named_texts {
        by_name
            .entry(name.clone())
            .or_default()
            .extend(contents.iter().cloned());
    }
    let named = |name: &str| by_name.get(name).cloned().unwrap_or_default();
    let queries = named("query");
    let passages = Some(named("passages"))
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| named("passage"));
    let first = |items: &[String]| Jinja::from(items.first().cloned());
    let none_by_name = || Jinja::from(BTreeMap::<String, Jinja>::new());

    let mut text_items: Vec<Jinja> = Vec::new();
    if !turn.texts.is_empty() {
        let mut item = BTreeMap::new();
        item.insert("name", Jinja::from(()));
        item.insert("contents", Jinja::from(turn.texts.clone()));
        text_items.push(Jinja::from(item));
    }
    for (name, contents) in &turn.named_texts {
        let mut item = BTreeMap::new();
        item.insert("name", Jinja::from(name.clone()));
        item.insert("contents", Jinja::from(contents.clone()));
        text_items.push(Jinja::from(item));
    }
    let mut this = BTreeMap::new();
    this.insert("role", Jinja::from(turn.role.clone()));
    this.insert("model", Jinja::from(model));
    this.insert("max_tokens", Jinja::from(turn.max_tokens));
    this.insert("timestamp", Jinja::from(turn.timestamp_ms));
    this.insert("delay", Jinja::from(turn.delay_ms));
    this.insert("texts", Jinja::from(text_items));
    this.insert("images", media(&turn.images));
    this.insert("audios", media(&turn.audios));
    this.insert("videos", media(&turn.videos));
    let this = Jinja::from(this);

    let mut request_info = BTreeMap::new();
    request_info.insert("system_message", Jinja::from(turn.system.clone()));

    let mut vars: BTreeMap<&str, Jinja> = BTreeMap::new();
    vars.insert("text", first(&texts));
    vars.insert("image", first(&turn.images));
    vars.insert("audio", first(&turn.audios));
    vars.insert("video", first(&turn.videos));
    vars.insert("query", first(&queries));
    vars.insert("passage", first(&passages));
    vars.insert("texts", Jinja::from(texts));
    vars.insert("images", Jinja::from(turn.images.clone()));
    vars.insert("audios", Jinja::from(turn.audios.clone()));
    vars.insert("videos", Jinja::from(turn.videos.clone()));
    vars.insert("queries", Jinja::from(queries));
    vars.insert("passages", Jinja::from(passages));
    vars.insert("texts_by_name", Jinja::from(by_name.clone()));
    vars.insert("images_by_name", none_by_name());
    vars.insert("audios_by_name", none_by_name());
    vars.insert("videos_by_name", none_by_name());
    vars.insert("model", Jinja::from(model));
    vars.insert("max_tokens", Jinja::from(turn.max_tokens));
    vars.insert("role", Jinja::from(turn.role.clone()));
    vars.insert("stream", Jinja::from(streaming));
    vars.insert("turns", Jinja::from(vec![this.clone()]));
    vars.insert("turn", this);
    vars.insert("request_info", Jinja::from(request_info));
    Jinja::from(vars)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::endpoints::test_support::{self, turn};

    fn settings(extra: &[(&str, Value)], streaming: bool) -> EndpointConfig {
        test_support::settings("template", streaming, test_support::extra(extra))
    }

    fn body(template: &str, extra: &[(&str, Value)], t: &Turn) -> Value {
        let mut all = vec![(TEMPLATE, Value::from(template))];
        all.extend_from_slice(extra);
        let s = settings(&all, true);
        let configured = Template::UNCONFIGURED.configure(&s).unwrap();
        Value::Object(configured.body(&s, "m1", t, &[]).unwrap())
    }

    #[test]
    fn a_chat_body_from_the_turn_with_the_extra_inputs_merged() {
        let template = r#"{"model": {{ model|tojson }}, "messages": [{"role": {{ role|tojson }}, "content": {{ text|tojson }}}], "max_tokens": {{ max_tokens }}, "stream": {{ stream|tojson }}}"#;
        let b = body(
            template,
            &[
                ("ignore_eos", Value::Bool(true)),
                ("max_tokens", Value::from(7)),
                (RESPONSE_FIELD, Value::from("choices[0].text")),
            ],
            &turn(&["Say \"hi\" <now>"], Some(32)),
        );
        assert_eq!(
            serde_json::to_string(&b).unwrap(),
            r#"{"model":"m1","messages":[{"role":"user","content":"Say \"hi\" <now>"}],"max_tokens":7,"stream":true,"ignore_eos":true}"#
        );
    }

    #[test]
    fn plain_values_are_html_escaped_as_jinja2_escapes_them() {
        let b = body(
            r#"{"prompt": "{{ text }}", "n": {{ texts|length }}}"#,
            &[],
            &turn(&["a < b & 'c' \"d\"", "x"], None),
        );
        assert_eq!(
            b,
            json!({"prompt": "a &lt; b &amp; &#39;c&#39; &#34;d&#34;", "n": 2})
        );
        let b = body(r#"{"p": "{{ text|safe }}"}"#, &[], &turn(&["<b>"], None));
        assert_eq!(b, json!({"p": "<b>"}));
    }

    #[test]
    fn named_texts_media_and_the_turn_object() {
        let mut t = turn(&[], Some(4));
        t.named_texts = vec![
            ("query".into(), vec!["q?".into()]),
            ("passages".into(), vec!["p1".into(), "p2".into()]),
        ];
        t.images = vec!["data:image/png;base64,AAA".into()];
        t.system = Some("Be brief.".into());
        let template = r#"{"q": {{ query|tojson }}, "ps": {{ passages|tojson }}, "all": {{ texts|tojson }},
            "by": {{ texts_by_name|tojson }}, "img": {{ image|tojson }}, "imgs": {{ images|tojson }},
            "first": {{ turn.texts[0].contents|tojson }}, "name": {{ turn.texts[0].name|tojson }},
            "role": {{ turns[0].role|tojson }}, "sys": {{ request_info.system_message|tojson }},
            "audio": {{ audio|tojson }}, "cap": {{ turn.max_tokens }}}"#;
        assert_eq!(
            body(template, &[], &t),
            json!({
                "q": "q?", "ps": ["p1", "p2"], "all": ["q?", "p1", "p2"],
                "by": {"passages": ["p1", "p2"], "query": ["q?"]},
                "img": "data:image/png;base64,AAA", "imgs": ["data:image/png;base64,AAA"],
                "first": ["q?"], "name": "query", "role": "user", "sys": "Be brief.",
                "audio": null, "cap": 4
            })
        );
        // Named texts already among the plain ones are not repeated.
        t.texts = vec!["q?".into(), "p1".into(), "p2".into()];
        assert_eq!(all_texts(&t), ["q?", "p1", "p2"]);
    }

    #[test]
    fn the_built_in_template_and_files_resolve() {
        assert_eq!(
            resolve("nv-embedqa").unwrap(),
            r#"{"text": {{ texts|tojson }}}"#
        );
        let b = body(
            &resolve("nv-embedqa").unwrap(),
            &[],
            &turn(&["a", "b"], None),
        );
        assert_eq!(b, json!({"text": ["a", "b"]}));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("body.j2");
        std::fs::write(&file, r#"{"input": {{ text|tojson }}}"#).unwrap();
        assert_eq!(
            resolve(file.to_str().unwrap()).unwrap(),
            r#"{"input": {{ text|tojson }}}"#
        );
        assert_eq!(resolve("{\"a\": 1}").unwrap(), "{\"a\": 1}");
    }

    #[test]
    fn the_check_before_the_run_resolves_and_names_what_is_wrong() {
        let check = |extra: &[(&str, Value)], kind: &str, input_file: bool| {
            let mut s = settings(extra, false);
            s.kind = crate::settings::EndpointKind(kind.into());
            check_body_template(&mut s, Some(8), input_file).map(|()| s.extra_inputs)
        };
        let ok = check(&[(TEMPLATE, Value::from("nv-embedqa"))], "template", false).unwrap();
        assert_eq!(ok[TEMPLATE], r#"{"text": {{ texts|tojson }}}"#);
        // A constant template given as JSON is its own text.
        let ok = check(&[(TEMPLATE, json!({"a": 1}))], "raw", false).unwrap();
        assert_eq!(ok[TEMPLATE], r#"{"a":1}"#);

        let err = check(&[], "template", false).unwrap_err();
        assert!(
            err.contains("--extra-inputs payload_template:<template>"),
            "{err}"
        );
        let err = check(&[], "raw", false).unwrap_err();
        assert!(err.contains("--input-file"), "{err}");
        assert!(check(&[], "raw", true).is_ok());
        assert!(check(&[], "chat", false).is_ok());

        for (template, needle) in [
            ("{\"a\": {{ text }", "does not compile"),
            ("{\"a\": {{ text|nosuchfilter }}}", "unknown filter"),
            ("{\"prompt\": {{ text }}}", "is not JSON"),
            ("[{{ text|tojson }}]", "not an object"),
        ] {
            let err = check(&[(TEMPLATE, Value::from(template))], "template", false).unwrap_err();
            assert!(err.starts_with("--extra-inputs payload_template:"), "{err}");
            assert!(err.contains(needle), "{template}: {err}");
        }
        let err = check(
            &[
                (TEMPLATE, Value::from("nv-embedqa")),
                (RESPONSE_FIELD, Value::from("choices[0")),
            ],
            "template",
            false,
        )
        .unwrap_err();
        assert!(err.contains("--extra-inputs response_field"), "{err}");
    }

    /// Each run holds its own template and response field: two runs configured at once read
    /// the same answer each with its own field.
    #[test]
    fn each_configured_run_has_its_own_template_and_field() {
        let answer = [(1, Bytes::from_static(br#"{"a": "from a", "b": "from b"}"#))];
        let run = |field: &str, template: &str| {
            let s = settings(
                &[
                    (TEMPLATE, Value::from(template)),
                    (RESPONSE_FIELD, Value::from(field)),
                ],
                false,
            );
            (Template::UNCONFIGURED.configure(&s).unwrap(), s)
        };
        let (a, a_settings) = run("a", r#"{"x": {{ text|tojson }}}"#);
        let (b, b_settings) = run("b", r#"{"y": {{ text|tojson }}}"#);
        assert_eq!(a.decode(&answer, false).unwrap().output, "from a");
        assert_eq!(b.decode(&answer, false).unwrap().output, "from b");
        let t = turn(&["hi"], None);
        assert_eq!(
            Value::Object(a.body(&a_settings, "m", &t, &[]).unwrap()),
            json!({"x": "hi"})
        );
        assert_eq!(
            Value::Object(b.body(&b_settings, "m", &t, &[]).unwrap()),
            json!({"y": "hi"})
        );
        // Not configured: no field, the usual shapes (`text` is not among them here).
        let unconfigured = Template::UNCONFIGURED.decode(&answer, false).unwrap();
        assert!(unconfigured.times.is_empty());
        // What cannot be compiled stops the run before it starts.
        for (extra, needle) in [
            (
                (RESPONSE_FIELD, Value::from("a[")),
                "not a JMESPath expression",
            ),
            ((RESPONSE_FIELD, json!(5)), "give a JMESPath"),
            ((TEMPLATE, Value::from("{{ x")), "does not compile"),
        ] {
            let err = Template::UNCONFIGURED
                .configure(&settings(&[extra], false))
                .unwrap_err();
            assert!(err.0.contains(needle), "{err:?}");
        }
    }

    fn render_error(source: &str, turn: &Turn) -> String {
        render(source, variables(false, "m", turn))
            .err()
            .unwrap_or_default()
    }

    #[test]
    fn a_turn_that_does_not_render_is_not_sent() {
        let t = turn(&["line one\nline two"], None);
        assert!(render_error(r#"{"p": "{{ text }}"}"#, &t).contains("is not JSON"));
        let all = [(TEMPLATE, Value::from(r#"{"p": "{{ text }}"}"#))];
        let s = settings(&all, false);
        let e = Template::UNCONFIGURED.body(&s, "m", &t, &[]).unwrap_err();
        let configured = Template::UNCONFIGURED.configure(&s).unwrap();
        assert_eq!(configured.body(&s, "m", &t, &[]).unwrap_err(), e);
        assert_eq!((e.code, e.kind.as_str()), (None, "ValueError"));
        assert!(
            e.message.starts_with(
                "--extra-inputs payload_template: the template cannot render this turn as a \
                 request body: what it rendered is not JSON"
            ),
            "{e:?}"
        );
    }
}
