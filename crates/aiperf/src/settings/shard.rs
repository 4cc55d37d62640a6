//! One benchmark split across processes (`--shards`).

use serde::{Deserialize, Serialize};

/// `--shards N --shard-index I`, with the clock and start options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardConfig {
    pub count: u32,
    pub index: u32,
    /// `HOST:PORT` of shard 0's clock.
    pub clock: Option<String>,
    /// Common start of the profiling phase, Unix seconds on shard 0's clock.
    pub start_at: Option<f64>,
}

impl ShardConfig {
    /// This shard's part of `total` (requests, concurrency): the k in `0..total` with
    /// `k mod count == index`.
    pub fn share(&self, total: u64) -> u64 {
        let (n, i) = (u64::from(self.count), u64::from(self.index));
        if total > i {
            (total - i).div_ceil(n)
        } else {
            0
        }
    }

    /// Whether the global session or arrival number `k` belongs to this shard.
    pub fn owns(&self, k: u64) -> bool {
        k % u64::from(self.count) == u64::from(self.index)
    }

    /// The global number of this shard's `local`-th session.
    pub fn global(&self, local: u64) -> u64 {
        u64::from(self.index) + u64::from(self.count) * local
    }
}
