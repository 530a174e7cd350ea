//! Where files are not mapped (anything but Linux: the SIGBUS handling of [`map`](map.rs) is
//! written for Linux's signals and `mmap`): every file is read the usual way. The same
//! interface, with a map that cannot exist.

use std::fs::File;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Shrunk {
    pub opened: u64,
    pub now: u64,
    pub left: u64,
    pub cut_record: Option<u64>,
}

/// Never made.
pub(super) enum Map {}

impl Map {
    pub(super) fn open(file: File) -> Result<Map, File> {
        Err(file)
    }

    pub(super) fn bytes(&self) -> &[u8] {
        match *self {}
    }

    pub(super) fn len(&self) -> usize {
        match *self {}
    }

    pub(super) fn check(&mut self, _: usize, _: usize) -> bool {
        match *self {}
    }

    pub(super) fn size_now(&self) -> Option<u64> {
        match *self {}
    }

    pub(super) fn shrunk(&mut self, _: u64) -> Shrunk {
        match *self {}
    }

    pub(super) fn advise_ahead(&mut self) {
        match *self {}
    }

    pub(super) fn cut(&mut self, _: usize) {
        match *self {}
    }

    pub(super) fn file(&self) -> std::io::Result<File> {
        match *self {}
    }
}
