//! KV-cache block ids of the layered prompt: L1 (tools and system prompt) is the same for
//! every session, L1.5 (a repository's instructions) for every session of a group, L2 and L3
//! (a session's files and its conversation) belong to one session. Ids live in fixed regions:
//!
//! ```text
//! L1:    0 .. L1_blocks
//! L1.5:  L1_blocks + group * MAX_GROUP_BLOCKS ..
//! L2+L3: L1_blocks + MAX_GROUPS * MAX_GROUP_BLOCKS + session * MAX_SESSION_BLOCKS ..
//! ```

use super::config::CacheLayers;

pub const MAX_GROUP_BLOCKS: u64 = 200;
pub const MAX_GROUPS: u64 = 1_000;
pub const MAX_SESSION_BLOCKS: u64 = 4_000;

#[derive(Debug, Clone)]
pub struct PrefixAllocator {
    block_size: u64,
    l1_blocks: u64,
    l15_blocks: u64,
    session_region: u64,
}

impl PrefixAllocator {
    pub fn new(cache: &CacheLayers, block_size: u64) -> Result<Self, String> {
        let l1_blocks = cache.layer1_tokens.div_ceil(block_size);
        let l15_blocks = cache.layer1_5_tokens.div_ceil(block_size);
        let groups = cache.layer1_5_groups.num_groups;
        if groups > MAX_GROUPS {
            return Err(format!(
                "cache.layer1_5_groups.num_groups={groups} exceeds the most groups, {MAX_GROUPS}"
            ));
        }
        if l15_blocks > MAX_GROUP_BLOCKS {
            return Err(format!(
                "cache.layer1_5_tokens={} needs {l15_blocks} blocks, more than a group's \
                 {MAX_GROUP_BLOCKS}",
                cache.layer1_5_tokens
            ));
        }
        Ok(Self {
            block_size,
            l1_blocks,
            l15_blocks,
            session_region: l1_blocks + MAX_GROUPS * MAX_GROUP_BLOCKS,
        })
    }

    pub fn l1_blocks(&self) -> u64 {
        self.l1_blocks
    }

    pub fn l15_blocks(&self) -> u64 {
        self.l15_blocks
    }

    /// L1 and L1.5 blocks.
    pub fn prefix_blocks(&self) -> u64 {
        self.l1_blocks + self.l15_blocks
    }

    /// Tokens the shared prefix takes as whole blocks: a session's own content starts in a
    /// block of its own, so no shared block is ever a row's partial last block.
    pub fn prefix_tokens(&self) -> u64 {
        self.prefix_blocks() * self.block_size
    }

    /// The block ids of a turn of `input_length` tokens: L1, the group's L1.5, then the
    /// session's blocks (those of its previous turn, extended by new ones; or fresh ones).
    pub fn turn_hash_ids(
        &self,
        session: u64,
        group: u64,
        input_length: u64,
        previous: Option<&[u64]>,
    ) -> Result<Vec<u64>, String> {
        let total = input_length.div_ceil(self.block_size);
        let l1 = self.l1_blocks.min(total);
        let mut ids: Vec<u64> = (0..l1).collect();
        let remaining = total - l1;
        if remaining == 0 {
            return Ok(ids);
        }
        let l15 = self.l15_blocks.min(remaining);
        let group_base = self.l1_blocks + group * MAX_GROUP_BLOCKS;
        ids.extend(group_base..group_base + l15);
        let needed = remaining - l15;
        if needed == 0 {
            return Ok(ids);
        }
        if needed > MAX_SESSION_BLOCKS {
            return Err(format!(
                "input_length={input_length} needs {needed} session blocks, more than a \
                 session's {MAX_SESSION_BLOCKS}; lower max_prompt_tokens or raise block_size"
            ));
        }
        let base = self.session_region + session * MAX_SESSION_BLOCKS;
        match previous {
            None => ids.extend(base..base + needed),
            Some(prev) => {
                let have = prev.len() as u64;
                if needed > have {
                    let next = prev.last().map_or(base, |l| l + 1);
                    ids.extend_from_slice(prev);
                    ids.extend(next..next + (needed - have));
                } else {
                    ids.extend_from_slice(&prev[..needed as usize]);
                }
            }
        }
        Ok(ids)
    }

    /// The session's own blocks of a turn (everything after L1 and L1.5).
    pub fn session_ids<'a>(&self, hash_ids: &'a [u64]) -> &'a [u64] {
        let prefix = self.prefix_blocks() as usize;
        if hash_ids.len() <= prefix {
            &[]
        } else {
            &hash_ids[prefix..]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_take_their_regions() {
        let cache = CacheLayers {
            layer1_tokens: 1024,
            layer1_5_tokens: 600,
            ..CacheLayers::default()
        };
        let a = PrefixAllocator::new(&cache, 512).unwrap();
        assert_eq!(
            (a.l1_blocks(), a.l15_blocks(), a.prefix_tokens()),
            (2, 2, 2048)
        );
        let first = a.turn_hash_ids(3, 1, 3000, None).unwrap();
        let session = 2 + 200_000 + 3 * 4_000;
        assert_eq!(first, [0, 1, 202, 203, session, session + 1]);
        let next = a
            .turn_hash_ids(3, 1, 4000, Some(a.session_ids(&first)))
            .unwrap();
        assert_eq!(next[4..], [session, session + 1, session + 2, session + 3]);
        assert_eq!(a.turn_hash_ids(3, 1, 700, None).unwrap(), [0, 1]);
    }
}
