//! What the live loop reads frames from: the capture thread, a wrapper around it (the key-log
//! delay), or a test's fake source replaying a fixture.

use crate::source::capture_thread::{CaptureThread, Received};
use crate::source::live::LiveError;
use crate::source::{Drops, LinkType};
use std::time::Duration;

pub trait LiveFrames {
    /// The next batch of frames, waiting at most `wait` for one.
    fn recv(&mut self, wait: Duration) -> Received;
    /// The link type of every frame.
    fn link(&self) -> LinkType;
    /// Packets lost so far, by cause.
    fn drops(&self) -> Drops;
    /// Stops capturing; what was captured before stays to be received, then
    /// [`Received::Ended`]. Returns the final drops, or the error that ended the capture.
    fn stop(&mut self) -> Result<Drops, LiveError>;
}

impl LiveFrames for CaptureThread {
    fn recv(&mut self, wait: Duration) -> Received {
        CaptureThread::recv(self, wait)
    }

    fn link(&self) -> LinkType {
        CaptureThread::link(self)
    }

    fn drops(&self) -> Drops {
        CaptureThread::drops(self)
    }

    fn stop(&mut self) -> Result<Drops, LiveError> {
        CaptureThread::stop(self)
    }
}

impl<S: LiveFrames + ?Sized> LiveFrames for Box<S> {
    fn recv(&mut self, wait: Duration) -> Received {
        (**self).recv(wait)
    }

    fn link(&self) -> LinkType {
        (**self).link()
    }

    fn drops(&self) -> Drops {
        (**self).drops()
    }

    fn stop(&mut self) -> Result<Drops, LiveError> {
        (**self).stop()
    }
}
