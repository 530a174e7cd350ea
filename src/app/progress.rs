//! Progress of `analyze` on a terminal: bytes read of the total, rate, time left, packets and
//! requests so far — an `indicatif` bar on standard error, hidden when standard error is not a
//! terminal or with `-q`. Standard input has no total: a spinner then.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// Frames between updates: the bar costs nothing per packet.
const EVERY: u32 = 4096;

pub struct Progress {
    bar: Option<ProgressBar>,
    /// Bytes of the inputs already read to their end.
    done: u64,
    since: u32,
}

impl Progress {
    /// `total`: the inputs' sizes, when every one is a file.
    pub fn new(total: Option<u64>, wanted: bool) -> Progress {
        let bar = (wanted && std::io::stderr().is_terminal()).then(|| {
            let (bar, template) = match total {
                Some(t) => (
                    ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr_with_hz(4)),
                    "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta} · {msg}",
                ),
                None => (
                    ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4)),
                    "{spinner} {bytes} {binary_bytes_per_sec} · {msg}",
                ),
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style);
            }
            bar
        });
        Progress {
            bar,
            done: 0,
            since: 0,
        }
    }

    /// After a frame: `read` bytes of the current input so far.
    pub fn frame(&mut self, read: u64, packets: u64, requests: u64) {
        self.since += 1;
        if self.since < EVERY {
            return;
        }
        self.since = 0;
        if let Some(bar) = &self.bar {
            bar.set_position(self.done + read);
            bar.set_message(format!("{packets} packets · {requests} requests"));
        }
    }

    /// The current input was read to its end (`read` bytes).
    pub fn input_done(&mut self, read: u64) {
        self.done += read;
    }

    /// Gone from the terminal before the report is written.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
