//! `--cache-bust`: a marker that keeps a server's prefix cache from reusing one session's
//! prompt in another. Each session gets its own `[rid:<12 hex digits>]` (drawn from the seed,
//! the phase and the session's number), before or after the system prompt or the first user
//! text; or, for the warmup-isolation targets, a constant `[warmup]` during the warmup only.

use std::sync::Arc;

use aiperf_stats::derive_seed;

use super::{Conversation, Turn};
use crate::settings::CacheBustTarget;
use crate::tokenizer::Tokenizer;

/// The marker of the warmup-isolation targets.
pub const WARMUP_MARKER: &str = "[warmup]\n\n";

/// How sessions are marked.
#[derive(Debug, Clone)]
pub struct CacheBust {
    target: CacheBustTarget,
    seed: u64,
    /// Counts each marker's tokens; `None` for a tokenizer that would ask the server (the
    /// average of a few markers is used instead).
    tokenizer: Option<Arc<Tokenizer>>,
    average_tokens: u32,
}

impl CacheBust {
    pub fn new(target: CacheBustTarget, seed: u64, tokenizer: Arc<Tokenizer>) -> Option<Self> {
        if target == CacheBustTarget::None {
            return None;
        }
        let average_tokens = marker_tokens(target, &tokenizer);
        let local = !matches!(*tokenizer, Tokenizer::Server(_));
        Some(Self {
            target,
            seed,
            tokenizer: local.then_some(tokenizer),
            average_tokens,
        })
    }

    /// The marker of session `session` (numbered within its phase), if it gets one.
    pub fn marker(&self, session: u64, warmup: bool) -> Option<String> {
        if self.target.warmup_only() {
            return warmup.then(|| WARMUP_MARKER.to_owned());
        }
        let digest = derive_seed(
            derive_seed(self.seed ^ 0x6275_7374, u64::from(warmup)),
            session,
        ) & 0xffff_ffff_ffff;
        Some(if self.prefix() {
            format!("[rid:{digest:012x}]\n\n")
        } else {
            format!("\n\n[rid:{digest:012x}]")
        })
    }

    fn prefix(&self) -> bool {
        !matches!(
            self.target,
            CacheBustTarget::SystemSuffix | CacheBustTarget::FirstTurnSuffix
        )
    }

    fn on_system(&self) -> bool {
        matches!(
            self.target,
            CacheBustTarget::SystemPrefix
                | CacheBustTarget::SystemSuffix
                | CacheBustTarget::WarmupIsolationSystem
        )
    }

    /// `conversation` as session `session` sends it, marked (a copy), or `None` when the
    /// session gets no marker.
    pub fn apply(
        &self,
        conversation: &Conversation,
        session: u64,
        warmup: bool,
    ) -> Option<Conversation> {
        let marker = self.marker(session, warmup)?;
        let mut marked = conversation.clone();
        let first = marked.turns.first_mut()?;
        let (before, after) = self.mark(first, &marker);
        // Counted as the server counts the marked text (the marker can merge with its
        // neighbour), unless counting would ask the server.
        let added = match &self.tokenizer {
            Some(t) => t.count(&after).saturating_sub(t.count(&before)),
            None => self.average_tokens as usize,
        };
        first.input_tokens = first
            .input_tokens
            .saturating_add(u32::try_from(added).unwrap_or(u32::MAX));
        Some(marked)
    }

    /// Adds `marker` to `turn`; returns the text it went into, before and after.
    fn mark(&self, turn: &mut Turn, marker: &str) -> (String, String) {
        let join = |text: &mut String| {
            let before = text.clone();
            if self.prefix() {
                text.insert_str(0, marker);
            } else {
                text.push_str(marker);
            }
            (before, text.clone())
        };
        if self.on_system()
            && let Some(system) = turn.system.as_mut()
        {
            return join(system);
        }
        let text = if self.prefix() {
            turn.texts.first_mut()
        } else {
            turn.texts.last_mut()
        };
        match text {
            Some(text) => join(text),
            None => {
                turn.texts.push(marker.trim().to_owned());
                (String::new(), marker.trim().to_owned())
            }
        }
    }

    /// Tokens the marker adds to a synthetic first turn's user text, and to its system
    /// prompt (what synthetic prompts leave out so that the sent lengths stay as asked).
    pub fn trims(&self, has_system: bool) -> (u32, u32) {
        if self.target.warmup_only() {
            return (0, 0);
        }
        if self.on_system() && has_system {
            (0, self.average_tokens)
        } else {
            (self.average_tokens, 0)
        }
    }
}

/// The average number of tokens of a marker for `target` (0 for the warmup-only targets,
/// which profiling requests never carry).
fn marker_tokens(target: CacheBustTarget, tokenizer: &Tokenizer) -> u32 {
    let probe = CacheBust {
        target,
        seed: 0x6573_7469_6d61_7465,
        tokenizer: None,
        average_tokens: 0,
    };
    if target.warmup_only() {
        return 0;
    }
    let total: usize = (0..8)
        .filter_map(|i| probe.marker(i, false))
        .map(|m| tokenizer.count(&m))
        .sum();
    u32::try_from((total + 4) / 8).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Encoding;

    fn conversation(system: Option<&str>) -> Conversation {
        Conversation {
            id: "c".into(),
            turns: vec![
                Turn {
                    texts: vec!["hello world".into()],
                    system: system.map(str::to_owned),
                    input_tokens: 2,
                    ..Turn::default()
                },
                Turn {
                    texts: vec!["again".into()],
                    ..Turn::default()
                },
            ],
        }
    }

    #[test]
    fn markers_are_per_session_and_placed_by_target() {
        let tok = Arc::new(Tokenizer::builtin(Encoding::O200kBase));
        let bust = CacheBust::new(CacheBustTarget::FirstTurnPrefix, 1, tok.clone()).unwrap();
        let c = conversation(None);
        let a = bust.apply(&c, 0, false).unwrap();
        let b = bust.apply(&c, 1, false).unwrap();
        let text = &a.turns[0].texts[0];
        assert!(
            text.starts_with("[rid:") && text.ends_with("]\n\nhello world"),
            "{text}"
        );
        assert_ne!(a.turns[0].texts, b.turns[0].texts, "sessions differ");
        assert_ne!(
            bust.apply(&c, 0, true).unwrap().turns[0].texts,
            a.turns[0].texts,
            "the warmup's sessions are others"
        );
        assert_eq!(a.turns[1], c.turns[1], "later turns unchanged");
        assert_eq!(
            a.turns[0].input_tokens as usize,
            tok.count(&a.turns[0].texts[0])
        );

        let suffix = CacheBust::new(CacheBustTarget::SystemSuffix, 1, tok.clone()).unwrap();
        let s = suffix
            .apply(&conversation(Some("Be brief.")), 3, false)
            .unwrap();
        assert!(
            s.turns[0]
                .system
                .as_deref()
                .unwrap()
                .starts_with("Be brief.\n\n[rid:")
        );
        assert_eq!(s.turns[0].texts[0], "hello world");
        // Without a system prompt the marker goes to the first user text.
        let s = suffix.apply(&conversation(None), 3, false).unwrap();
        assert!(s.turns[0].texts[0].starts_with("hello world\n\n[rid:"));

        let warm = CacheBust::new(CacheBustTarget::WarmupIsolationFirstTurn, 1, tok).unwrap();
        assert!(warm.apply(&c, 0, false).is_none(), "profiling is unmarked");
        let w = warm.apply(&c, 0, true).unwrap();
        assert_eq!(w.turns[0].texts[0], "[warmup]\n\nhello world");
        assert_eq!(warm.trims(false), (0, 0));
    }
}
