//! The command `run` runs, as the live loop sees it: whether it has exited, and a way to end it.
//! A trait, so that draining after its exit and Ctrl-C are tested with a fake.

use crate::app::error::Result;
use crate::source::run::{RunningCommand, exit_code};

pub trait Child {
    /// Its exit status (128 + signal number when a signal ended it), once it has exited.
    fn try_wait(&mut self) -> Result<Option<i32>>;
    /// Ends it at once.
    fn kill(&mut self);
}

impl Child for RunningCommand {
    fn try_wait(&mut self) -> Result<Option<i32>> {
        Ok(RunningCommand::try_wait(self)?.map(exit_code))
    }

    fn kill(&mut self) {
        RunningCommand::kill(self);
    }
}
