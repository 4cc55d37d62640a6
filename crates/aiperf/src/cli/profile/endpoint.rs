//! Where requests go and how tokens are counted.

use clap::Args;

use crate::settings::*;

#[derive(Debug, Args)]
#[command(next_help_heading = "Endpoint")]
pub struct EndpointArgs {
    /// Model name(s) to send in requests (comma-separated for several). Required unless --sim.
    #[arg(
        short = 'm',
        long = "model",
        visible_alias = "model-names",
        value_delimiter = ','
    )]
    pub models: Vec<String>,

    /// How requests pick among several models.
    #[arg(long, value_enum, default_value_t = ModelSelection::RoundRobin)]
    pub model_selection_strategy: ModelSelection,

    /// Server base URL (repeat for several, used round robin). `http://` is added when no
    /// scheme is given. [default: http://localhost:8000]
    #[arg(short = 'u', long = "url")]
    pub urls: Vec<String>,

    /// API shape of the endpoint (the Python AIPerf's kebab-case spellings, such as
    /// audio-transcription, name the same types).
    #[arg(long, default_value = "chat", value_parser = EndpointTypeParser::new())]
    pub endpoint_type: String,

    /// Request path, overriding the endpoint type's (/v1/chat/completions, /v1/completions).
    #[arg(long, visible_alias = "custom-endpoint")]
    pub endpoint: Option<String>,

    /// Stream responses (server-sent events); needed for time to first token and inter-token
    /// latency.
    #[arg(long, overrides_with = "no_streaming")]
    pub streaming: bool,

    /// Do not stream responses (the default).
    #[arg(long, overrides_with = "streaming")]
    pub no_streaming: bool,

    /// Give up on a request after this long, in seconds (connect, send and whole response).
    #[arg(long, default_value_t = 21600.0)]
    pub request_timeout_seconds: f64,

    /// API key, sent as `Authorization: Bearer <key>`. Never written to any file.
    #[arg(long, env = "AIPERF_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,

    /// Open the connections the load needs before measuring (default), so the first requests
    /// do not include TCP/TLS setup; `--connection-warmup false` measures cold connections.
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub connection_warmup: bool,

    /// How requests share connections: `pooled` (default) keeps connections alive and shares
    /// them; `never` opens a new connection for every request (connection setup is then part
    /// of every latency); `sticky-user-sessions` gives each conversation its own connection
    /// for all its turns (users behind a load balancer with connection affinity). Whatever
    /// the strategy, a request that finds its kept-alive connection closed by the server is
    /// sent again once on a new one.
    #[arg(long, value_enum, ignore_case = true, default_value_t = crate::settings::ConnectionReuse::Pooled)]
    pub connection_reuse_strategy: crate::settings::ConnectionReuse,

    /// Extra request header, `Name:Value` (repeatable), or a JSON object of headers.
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,

    /// Field merged into every request body, `key:value` (repeatable; the value is read as
    /// JSON when it parses, e.g. `ignore_eos:true`, `min_tokens:64`), or a JSON object.
    #[arg(long)]
    pub extra_inputs: Vec<String>,

    /// Count input and output tokens from the server's `usage` instead of the tokenizer.
    #[arg(long)]
    pub use_server_token_count: bool,

    /// Send the output cap as `max_tokens` instead of `max_completion_tokens` (chat).
    #[arg(long)]
    pub use_legacy_max_tokens: bool,

    /// How request bodies are encoded. The endpoint types that upload files or take forms
    /// (image_edit, audio_transcription, video_generation) send `multipart-form-data`, every
    /// other type `application-json`; the flag is checked against the type.
    #[arg(long, value_enum, ignore_case = true)]
    pub request_content_type: Option<RequestContentType>,

    /// video_generation: download each finished video (GET its content) and count the
    /// download in the request latency.
    #[arg(long)]
    pub download_video_content: bool,
}

/// `--request-content-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RequestContentType {
    /// A JSON document.
    #[value(alias = "application/json")]
    ApplicationJson,
    /// A form: fields and uploaded files.
    #[value(alias = "multipart/form-data")]
    MultipartFormData,
}

impl RequestContentType {
    /// A form (`multipart-form-data`).
    pub fn is_form(self) -> bool {
        self == Self::MultipartFormData
    }
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Tokenizer")]
pub struct TokenizerArgs {
    /// Tokenizer for counting tokens: `builtin` (o200k_base, no network), `cl100k_base`, a
    /// tokenizer.json file or its directory, a Hugging Face model id, or `server`: the served
    /// model's own, through the server's /tokenize endpoint (llama.cpp, vLLM, SGLang). Default:
    /// the model name when it looks like a hub id (`org/name`) or a local directory, else
    /// builtin. HF_HUB_OFFLINE=1 takes hub tokenizers from the local cache only.
    #[arg(long)]
    pub tokenizer: Option<String>,

    /// Hub revision (branch, tag or commit) of the tokenizer.
    #[arg(long, default_value = "main")]
    pub tokenizer_revision: String,

    /// Accepted for compatibility; tokenizer.json files never run code.
    #[arg(long)]
    pub tokenizer_trust_remote_code: bool,

    /// Python AIPerf: count input tokens with the Hugging Face chat template applied. Chat
    /// templates are not rendered here: input tokens are the prompt's own (a note says so;
    /// --use-server-token-count reports the server's count, template included).
    #[arg(long)]
    pub apply_chat_template: bool,
}

/// `--endpoint-type`: a type's name, or its kebab-case spelling as the Python AIPerf writes it
/// (`audio-transcription` for `audio_transcription`); the value is always the name. `--help`
/// and the error for an unknown type list the names.
#[derive(Debug, Clone)]
struct EndpointTypeParser(clap::builder::PossibleValuesParser);

impl EndpointTypeParser {
    fn new() -> Self {
        Self(clap::builder::PossibleValuesParser::new(
            crate::endpoints::names(),
        ))
    }
}

impl clap::builder::TypedValueParser for EndpointTypeParser {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        let spelled = value.to_str().unwrap_or_default();
        match crate::endpoints::names().find(|name| name.replace('_', "-") == spelled) {
            Some(name) => Ok(name.to_owned()),
            None => self.0.parse_ref(cmd, arg, value),
        }
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        self.0.possible_values()
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};

    fn endpoint_type(value: &str) -> Result<String, clap::Error> {
        let cli = Cli::try_parse_from(["aiperf", "profile", "--endpoint-type", value])?;
        let Command::Profile(p) = cli.command else {
            unreachable!()
        };
        Ok(p.endpoint.endpoint_type)
    }

    #[test]
    fn kebab_case_spellings_name_the_same_types() {
        for name in crate::endpoints::names() {
            assert_eq!(endpoint_type(name).unwrap(), name);
            assert_eq!(endpoint_type(&name.replace('_', "-")).unwrap(), name);
        }
        assert_eq!(endpoint_type("nim-rankings").unwrap(), "nim_rankings");
        // An unknown type: the error lists the names, not their other spellings.
        let err = endpoint_type("nim-ranking").unwrap_err().to_string();
        assert!(err.contains("invalid value 'nim-ranking'"), "{err}");
        assert!(
            err.contains("[possible values: chat, completions, embeddings,"),
            "{err}"
        );
        assert!(
            err.contains("nim_rankings") && !err.contains("nim-rankings"),
            "{err}"
        );
        // Half kebab, half snake is neither spelling.
        assert!(endpoint_type("hf-tei_rankings").is_err());
    }
}
