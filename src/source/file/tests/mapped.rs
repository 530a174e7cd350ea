//! A mapped file that changes while it is read: cut short under the reader (a capture truncated
//! or rotated by another program), or still growing; a file larger than the steps in which the
//! pages behind the reader are dropped; and a SIGBUS that is not about a map.

use std::fs::File;
use std::io::{Seek, Write};
use std::sync::atomic::Ordering;

use super::super::map::FAULTS;
use super::super::pager::tests::resident_kib;
use super::super::writer::{Pcap, PcapNg};
use super::{Got, drain, frame, read_all};
use crate::source::file::FileSource;
use crate::source::{FrameSource, LinkType, SourceItem, SourceNote};

const S: i64 = 1_000_000_000;

/// A capture, where each of its records starts, and the frames they are.
struct Capture {
    bytes: Vec<u8>,
    starts: Vec<usize>,
    frames: Vec<Got>,
    /// What the truncation note calls a record.
    record: &'static str,
}

/// Record `i`'s bytes: 600 to 799 of them (records end anywhere in a page), never zero.
fn data(i: u32) -> Vec<u8> {
    (0..600 + i % 200).map(|j| (i * 31 + j) as u8 | 1).collect()
}

fn legacy(n: u32) -> Capture {
    let mut pcap = Pcap::new(false, false, 1);
    let (mut starts, mut frames) = (Vec::new(), Vec::new());
    for i in 0..n {
        starts.push(pcap.bytes.len());
        let d = data(i);
        pcap = pcap.record(1000 + i, 10 * i, &d, 2000);
        let ts = (1000 + i64::from(i)) * S + 10_000 * i64::from(i);
        frames.push(frame(ts, LinkType::ETHERNET, &d, 2000));
    }
    starts.push(pcap.bytes.len());
    Capture {
        bytes: pcap.bytes,
        starts,
        frames,
        record: "packet record",
    }
}

fn pcapng(n: u32) -> Capture {
    let mut ng = PcapNg::new(false).idb(1, 0, None, None);
    let (mut starts, mut frames) = (Vec::new(), Vec::new());
    for i in 0..n {
        starts.push(ng.bytes.len());
        let d = data(i);
        ng = ng.epb(0, 5_000_000 + u64::from(i), &d, 2000);
        let ts = (5_000_000 + i64::from(i)) * 1000;
        frames.push(frame(ts, LinkType::ETHERNET, &d, 2000));
    }
    starts.push(ng.bytes.len());
    Capture {
        bytes: ng.bytes,
        starts,
        frames,
        record: "enhanced packet block",
    }
}

/// The capture as a file, mapped, and another handle on the file to change it with.
fn mapped(bytes: &[u8]) -> (FileSource, File) {
    mapped_advised(bytes, Advised::ByReader)
}

/// Who gives the kernel its advice on the map's pages (`file/pager.rs`).
#[derive(Debug, Clone, Copy)]
enum Advised {
    ByReader,
    ByThread,
}

const BOTH: [Advised; 2] = [Advised::ByReader, Advised::ByThread];

fn mapped_advised(bytes: &[u8], advised: Advised) -> (FileSource, File) {
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(bytes).unwrap();
    file.rewind().unwrap();
    let other = file.try_clone().unwrap();
    let mut src = FileSource::from_file("test.pcap".into(), file).unwrap();
    assert!(src.is_mapped());
    if let Advised::ByThread = advised {
        src.read_ahead();
    }
    (src, other)
}

/// The next `n` items.
fn take(src: &mut FileSource, n: usize) -> Vec<Got> {
    (0..n)
        .map(|_| match src.next_item() {
            Ok(Some(SourceItem::Frame(f))) => frame(f.ts.0, f.link, f.data, f.orig_len),
            other => panic!("{other:?}"),
        })
        .collect()
}

/// The frames, then the one note at the end.
fn split(got: &[Got]) -> (&[Got], String) {
    match got.split_last() {
        Some((Got::Note(SourceNote::Truncated { detail }), frames)) => (frames, detail.clone()),
        other => panic!("no truncation note at the end: {:?}", other.map(|o| o.0)),
    }
}

#[test]
fn a_file_cut_ahead_of_the_reader_gives_every_record_before_the_cut_then_says_it_shrank() {
    for (cap, advised) in [legacy(3000), pcapng(3000)].into_iter().zip(BOTH) {
        let faults = FAULTS.load(Ordering::Relaxed);
        let (mut src, file) = mapped_advised(&cap.bytes, advised);
        let mut got = take(&mut src, 100);
        // Into record 2000, not on a page boundary: the page after the new end is gone (a
        // load there is a SIGBUS), the end of its own page reads as zeros without one.
        let (at, cut) = (cap.starts[2000], cap.starts[2000] + 300);
        file.set_len(cut as u64).unwrap();
        got.extend(drain(&mut src));
        let (frames, note) = split(&got);
        assert_eq!(frames.len(), 2000);
        assert!(
            frames == &cap.frames[..2000],
            "every record before the cut, as written"
        );
        let len = cap.starts[2001] - at;
        assert_eq!(
            note,
            format!(
                "file ends 300 bytes into a {len}-byte {} at offset {at}: the file shrank while \
                 it was read ({} bytes when opened, {cut} now)",
                cap.record,
                cap.bytes.len()
            )
        );
        assert!(
            FAULTS.load(Ordering::Relaxed) > faults,
            "the handler turned the SIGBUS into zeros and a note"
        );
    }
}

#[test]
fn a_file_cut_at_a_record_boundary_ends_there_with_a_note() {
    for (cap, advised) in [legacy(3000), pcapng(3000)].into_iter().zip(BOTH) {
        let (mut src, file) = mapped_advised(&cap.bytes, advised);
        let mut got = take(&mut src, 10);
        let cut = cap.starts[1500];
        file.set_len(cut as u64).unwrap();
        got.extend(drain(&mut src));
        let (frames, note) = split(&got);
        assert!(frames == &cap.frames[..1500], "{} frames", frames.len());
        assert_eq!(
            note,
            format!(
                "the file shrank while it was read ({} bytes when opened, {cut} now): the \
                 records before offset {cut} were read",
                cap.bytes.len()
            )
        );
    }
}

/// A rotation: the file is emptied while the reader is in it. No zero byte comes out as a
/// packet, and the note says where reading stopped.
#[test]
fn a_file_emptied_behind_the_reader_ends_where_the_reader_was() {
    for (cap, advised) in [legacy(3000), pcapng(3000)].into_iter().zip(BOTH) {
        let (mut src, file) = mapped_advised(&cap.bytes, advised);
        let mut got = take(&mut src, 100);
        file.set_len(0).unwrap();
        got.extend(drain(&mut src));
        let (frames, note) = split(&got);
        assert!(frames == &cap.frames[..100], "{} frames", frames.len());
        let at = cap.starts[100];
        assert_eq!(
            note,
            format!(
                "the file shrank while it was read ({} bytes when opened, 0 now); the record \
                 ending at offset {at}, being analysed as it shrank, may have been read with \
                 zeros past offset 0: the records before offset {at} were read",
                cap.bytes.len(),
            )
        );
    }
}

/// A capture still being written: what was added after the file was mapped is read too.
#[test]
fn a_file_that_grows_while_mapped_is_read_to_its_new_end() {
    let cap = legacy(40);
    let first = cap.starts[25];
    let (mut src, mut file) = mapped(&cap.bytes[..first]);
    let mut got = take(&mut src, 10);
    file.seek(std::io::SeekFrom::End(0)).unwrap();
    file.write_all(&cap.bytes[first..]).unwrap();
    got.extend(drain(&mut src));
    assert!(got == cap.frames, "{} items", got.len());
    assert_eq!(src.bytes_read(), cap.bytes.len() as u64);
}

/// More than the steps in which pages behind the reader are dropped and those ahead asked for.
#[test]
fn a_file_larger_than_the_advice_steps_reads_as_it_does_from_memory() {
    for cap in [legacy(20_000), pcapng(20_000)] {
        assert!(cap.bytes.len() > 12 << 20);
        assert!(read_all(cap.bytes) == cap.frames);
    }
}

/// Memory stays flat however large the file: the pages behind the reader leave the process
/// (`MADV_DONTNEED`), whether the reader or a thread of its own advises the kernel. Without
/// that, every page read stays in the RSS: here the whole 42 MB.
#[test]
fn pages_behind_the_reader_leave_the_process_whoever_advises() {
    let cap = legacy(60_000);
    assert!(cap.bytes.len() > 40 << 20);
    for advised in BOTH {
        let (mut src, _) = mapped_advised(&cap.bytes, advised);
        let got = drain(&mut src);
        assert!(got == cap.frames, "{advised:?}: {} items", got.len());
        let base = src.settled_map().expect("mapped");
        let rss = resident_kib(base);
        // At most the pages from the last place the reader said to its end (2 MiB), the 4 MiB
        // mapped ahead of it, and a step's slack.
        assert!(rss <= 8 << 10, "{advised:?}: {rss} KiB of the map resident");
    }
}

/// The handler only takes faults inside its maps: any other SIGBUS ends the process as it
/// always did (here through Rust's own handler, which was there before).
#[test]
fn a_sigbus_outside_the_maps_still_ends_the_process() {
    use std::os::unix::process::ExitStatusExt;
    const CHILD: &str = "S3WIRE_TEST_SIGBUS_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let (_src, _) = mapped(&legacy(10).bytes); // the handler is installed
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&[1; 8192]).unwrap();
        // SAFETY: a fresh read-only map of the file, read once below, never unmapped (the
        // process ends at that read).
        unsafe {
            use std::os::fd::AsRawFd;
            let p = libc::mmap(
                std::ptr::null_mut(),
                8192,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            );
            assert_ne!(p, libc::MAP_FAILED);
            file.set_len(0).unwrap();
            std::ptr::read_volatile(p.cast::<u8>().add(4096));
        }
        std::process::exit(7); // not reached: the read above ends the process
    }
    let name = "source::file::tests::mapped::a_sigbus_outside_the_maps_still_ends_the_process";
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    assert_eq!(out.status.signal(), Some(libc::SIGBUS), "{out:?}");
}
