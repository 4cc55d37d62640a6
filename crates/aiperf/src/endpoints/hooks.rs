//! What some endpoint types tell the rest of the program beyond a body and a decoded answer:
//! requests that are jobs to follow (see [`super::Endpoint::follow_up`]), what of a request's
//! input is measured or required ([`super::Endpoint::inputs`]), and the figures a server
//! reports of its work ([`super::Endpoint::server_figures`]).

use std::time::Duration;

/// What follows a 2xx answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowUp {
    /// The answer is the request's result.
    Done,
    /// `GET` `at` after `wait`; its answer is followed up in turn (a job's status).
    Poll { at: Location, wait: Duration },
    /// `GET` `at` and read it to the end (a finished job's content), then stop: the answer
    /// decoded stays the last polled one, the request ends when the content is read.
    Fetch { at: Location },
}

/// Where a follow-up request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// Appended to the path the request was sent to (`/{id}` after `/v1/videos`).
    Below(String),
    /// An absolute path on the same server, or a whole URL (which must name the same server).
    Url(String),
}

/// What of a request's input is measured, and what each request must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inputs {
    /// Its text is sent and tokenized: the input sequence length is measured.
    pub tokenized: bool,
    /// Its images are counted: `num_images`, `image_throughput`, `image_latency`.
    pub images_counted: bool,
    /// Media every request must carry (synthetic prompts need the matching flags).
    pub needs: Option<Media>,
}

impl Inputs {
    /// Text, and any images it carries.
    pub const TEXT: Self = Self {
        tokenized: true,
        images_counted: true,
        needs: None,
    };
}

/// A kind of media a request can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    Image,
    Audio,
}

/// What a server reports of the work behind an answer (a video job's).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ServerFigures {
    /// Seconds of inference, as the server measured them.
    pub inference_secs: Option<f64>,
    /// Peak accelerator memory, in megabytes.
    pub peak_memory_mb: Option<f64>,
}
