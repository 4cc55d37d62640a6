//! The request body: the whole JSON document in one frame, noting when the connection took it
//! (an HTTP/2 stream's only clue to when its request went out, as its socket is shared).

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

use crate::record::Clock;

/// One request body, sent as a single frame.
#[derive(Debug)]
pub(crate) struct RequestBody {
    data: Option<Bytes>,
    /// Where to note ([`Clock`] nanoseconds) when the connection took the body.
    taken: Option<(Arc<AtomicU64>, Clock)>,
}

impl RequestBody {
    pub(crate) fn new(data: Bytes, taken: Option<(Arc<AtomicU64>, Clock)>) -> Self {
        Self {
            data: (!data.is_empty()).then_some(data),
            taken,
        }
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        let data = this.data.take();
        if let Some((at, clock)) = &this.taken {
            at.store(clock.now(), Ordering::Relaxed);
        }
        Poll::Ready(data.map(|d| Ok(Frame::data(d))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.as_ref().map_or(0, |d| d.len() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn one_frame_then_the_end_noted() {
        let at = Arc::new(AtomicU64::new(0));
        let mut body =
            RequestBody::new(Bytes::from_static(b"{}"), Some((at.clone(), Clock::new())));
        assert_eq!(body.size_hint().exact(), Some(2));
        assert!(!body.is_end_stream());
        let frame = body.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), "{}");
        assert!(body.is_end_stream());
        assert!(body.frame().await.is_none());
        assert!(RequestBody::new(Bytes::new(), None).is_end_stream());
    }
}
