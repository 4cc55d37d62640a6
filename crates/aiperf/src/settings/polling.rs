//! How requests answered with a job are followed to the job's end (`video_generation`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Following jobs: how often their status is asked for, and whether their result is fetched.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Polling {
    /// Seconds between status requests (`AIPERF_HTTP_VIDEO_POLL_INTERVAL`).
    pub interval_secs: f64,
    /// Fetch a finished job's content too (`--download-video-content`), within the request's
    /// latency.
    pub download_content: bool,
}

impl Polling {
    /// The Python AIPerf's default interval.
    pub const DEFAULT_INTERVAL_SECS: f64 = 0.1;

    pub fn interval(&self) -> Duration {
        Duration::try_from_secs_f64(self.interval_secs).unwrap_or(Duration::ZERO)
    }

    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

impl Default for Polling {
    fn default() -> Self {
        Self {
            interval_secs: Self::DEFAULT_INTERVAL_SECS,
            download_content: false,
        }
    }
}
