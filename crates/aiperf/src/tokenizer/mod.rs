//! Tokenizers: OpenAI's BPE encodings built in (no network), Hugging Face `tokenizer.json`
//! files from disk, and Hugging Face hub ids fetched through the hub client.
//!
//! Tokenizing happens when prompts are built and after responses arrive, never on the
//! request path.

mod server;

use std::path::{Path, PathBuf};

use tiktoken_rs::CoreBPE;

use crate::UsageError;
use crate::settings::{Encoding, HubAccess, TokenizerSpec};

/// A loaded tokenizer.
pub enum Tokenizer {
    Bpe {
        name: &'static str,
        bpe: &'static CoreBPE,
    },
    Hf {
        name: String,
        tokenizer: Box<tokenizers::Tokenizer>,
    },
    Server(server::ServerTokenizer),
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokenizer({})", self.name())
    }
}

impl Tokenizer {
    /// Loads the tokenizer `spec` names. Errors name `--tokenizer` and say what to do.
    pub fn load(spec: &TokenizerSpec, hub: &HubAccess) -> Result<Self, UsageError> {
        match spec {
            TokenizerSpec::Builtin { encoding } => Ok(Self::builtin(*encoding)),
            TokenizerSpec::File { path } => {
                let file = if path.is_dir() {
                    path.join("tokenizer.json")
                } else {
                    path.clone()
                };
                if !file.is_file() {
                    return Err(UsageError::new(format!(
                        "--tokenizer: {} does not exist (give a tokenizer.json file, a directory \
                         holding one, a Hugging Face model id, or `builtin`)",
                        file.display()
                    )));
                }
                Self::from_file(&file, path.display().to_string())
            }
            TokenizerSpec::Hub { repo, revision } => {
                let file = fetch_from_hub(repo, revision, hub)?;
                Self::from_file(&file, repo.clone())
            }
            TokenizerSpec::Server { url, model } => {
                Ok(Self::Server(server::ServerTokenizer::connect(url, model)?))
            }
        }
    }

    pub fn builtin(encoding: Encoding) -> Self {
        let bpe = match encoding {
            Encoding::O200kBase => tiktoken_rs::o200k_base_singleton(),
            Encoding::Cl100kBase => tiktoken_rs::cl100k_base_singleton(),
        };
        Self::Bpe {
            name: encoding.name(),
            bpe,
        }
    }

    fn from_file(file: &Path, name: String) -> Result<Self, UsageError> {
        let tokenizer = tokenizers::Tokenizer::from_file(file).map_err(|e| {
            UsageError::new(format!(
                "--tokenizer: {} is not a valid tokenizer.json: {e}",
                file.display()
            ))
        })?;
        Ok(Self::Hf {
            name,
            tokenizer: Box::new(tokenizer),
        })
    }

    pub fn name(&self) -> &str {
        match self {
            Self::Bpe { name, .. } => name,
            Self::Hf { name, .. } => name,
            Self::Server(s) => s.name(),
        }
    }

    pub fn encode(&self, text: &str) -> Vec<u32> {
        match self {
            Self::Bpe { bpe, .. } => bpe.encode_ordinary(text),
            Self::Hf { tokenizer, .. } => tokenizer
                .encode_fast(text, false)
                .map(|e| e.get_ids().to_vec())
                .unwrap_or_default(),
            Self::Server(s) => s.encode(text),
        }
    }

    pub fn decode(&self, ids: &[u32]) -> String {
        match self {
            Self::Bpe { bpe, .. } => bpe
                .decode_bytes(ids)
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default(),
            Self::Hf { tokenizer, .. } => tokenizer.decode(ids, false).unwrap_or_default(),
            Self::Server(s) => s.decode(ids),
        }
    }

    /// Number of tokens in `text` (no special tokens added).
    pub fn count(&self, text: &str) -> usize {
        if text.is_empty() {
            return 0;
        }
        self.encode(text).len()
    }
}

/// Downloads (or finds in the local Hugging Face cache) `tokenizer.json` of `repo`. Offline
/// (`HF_HUB_OFFLINE`), only the cache is looked at.
fn fetch_from_hub(repo: &str, revision: &str, hub: &HubAccess) -> Result<PathBuf, UsageError> {
    let repo_ref = hf_hub::Repo::with_revision(
        repo.to_owned(),
        hf_hub::RepoType::Model,
        revision.to_owned(),
    );
    if hub.offline {
        let cache = hf_hub::Cache::from_env();
        return cache.repo(repo_ref).get("tokenizer.json").ok_or_else(|| {
            UsageError::new(format!(
                "--tokenizer: HF_HUB_OFFLINE is set and the tokenizer of {repo:?} (revision \
                 {revision}) is not in the Hugging Face cache at {}; download it once with \
                 network access (`huggingface-cli download {repo} tokenizer.json`), pass a local \
                 tokenizer.json with --tokenizer PATH, or unset HF_HUB_OFFLINE",
                cache.path().display()
            ))
        });
    }
    let mut builder = hf_hub::api::sync::ApiBuilder::from_env().with_progress(false);
    // The hub client reads the token saved by `huggingface-cli login`; HF_TOKEN wins.
    if let Some(token) = &hub.token {
        builder = builder.with_token(Some(token.expose().to_owned()));
    }
    let api = builder.build().map_err(|e| {
        UsageError::new(format!("--tokenizer: cannot use the Hugging Face hub: {e}"))
    })?;
    api.repo(repo_ref).get("tokenizer.json").map_err(|e| {
        UsageError::new(format!(
            "--tokenizer: cannot get the tokenizer of {repo:?} from the Hugging Face hub ({e}). \
             Without network access, pass a local tokenizer.json or its directory with \
             --tokenizer PATH, or use --tokenizer builtin; for a gated model set HF_TOKEN."
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_models_get_the_builtin_encoding() {
        let builtin = TokenizerSpec::Builtin {
            encoding: Encoding::O200kBase,
        };
        for model in [
            "mock-model",
            "gpt-4o",
            "llama-3.1-8b-instruct-sim",
            "granite4:350m",
        ] {
            assert_eq!(
                TokenizerSpec::resolve(None, model, "main"),
                builtin,
                "{model}"
            );
        }
        assert_eq!(
            TokenizerSpec::resolve(None, "Qwen/Qwen3-0.6B", "main"),
            TokenizerSpec::Hub {
                repo: "Qwen/Qwen3-0.6B".into(),
                revision: "main".into()
            }
        );
        assert_eq!(
            TokenizerSpec::resolve(Some("builtin"), "Qwen/Qwen3-0.6B", "main"),
            builtin
        );
        assert_eq!(
            TokenizerSpec::resolve(Some("cl100k_base"), "m", "main"),
            TokenizerSpec::Builtin {
                encoding: Encoding::Cl100kBase
            }
        );
        assert!(matches!(
            TokenizerSpec::resolve(Some("./tok/tokenizer.json"), "m", "main"),
            TokenizerSpec::File { .. }
        ));
    }

    #[test]
    fn builtin_round_trips() {
        let tok = Tokenizer::builtin(Encoding::O200kBase);
        let ids = tok.encode("hello world, how are you?");
        assert_eq!(tok.decode(&ids), "hello world, how are you?");
        assert_eq!(tok.count(""), 0);
        assert_eq!(tok.count(" the the the"), 3);
    }

    #[test]
    fn missing_file_is_a_usage_error_naming_the_flag() {
        let err = Tokenizer::load(
            &TokenizerSpec::File {
                path: "/nonexistent/tokenizer.json".into(),
            },
            &HubAccess::default(),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("--tokenizer:"), "{err}");
    }

    #[test]
    fn invalid_file_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tokenizer.json");
        std::fs::write(&file, "{not a tokenizer").unwrap();
        let err = Tokenizer::load(&TokenizerSpec::File { path: file }, &HubAccess::default())
            .unwrap_err();
        assert!(
            err.to_string().contains("not a valid tokenizer.json"),
            "{err}"
        );
    }
}
