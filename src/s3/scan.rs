//! The bytes an origin-form target is read by (`#`, `:`, `?`, `/`, `%`), found in one pass of
//! sixteen bytes a step. Searched for one after the other (the target's end, the bucket's end,
//! a `%`), a usual request's target cost three or four calls of `memchr`, whose set-up outweighs
//! the thirty-odd bytes searched: the pass took ~110 instructions a request off the analysis
//! thread (dense-50k: 210.0 -> 207.2 M).

/// What the pass saw of a target: where its query starts and, in the path before it, where
/// the bucket's segment ends and whether anything is percent-encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Marks {
    /// The first `?` (the path ends there).
    pub query: Option<usize>,
    /// The first `/` of the path after its first byte.
    pub slash: Option<usize>,
    /// The path holds a `%`.
    pub percent: bool,
}

/// Sixteen bytes of a target.
type Block = [u8; 16];

/// A block's bytes of note, a bit each (bit `i` for byte `i`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Classes {
    /// `#` or `:`: the target is not the usual one.
    unusual: u16,
    query: u16,
    slash: u16,
    percent: u16,
}

impl Classes {
    /// The classes of the bytes from `n` on, moved down to bit 0 (the bytes before `n` were
    /// seen in the block before).
    fn from(self, n: u32) -> Classes {
        Classes {
            unusual: self.unusual >> n,
            query: self.query >> n,
            slash: self.slash >> n,
            percent: self.percent >> n,
        }
    }
}

/// The marks of `t`; None when it holds a `#` or a `:` (a fragment, or what may be a scheme:
/// the general reading's).
pub(super) fn marks(t: &[u8]) -> Option<Marks> {
    let mut marks = Marks {
        query: None,
        slash: None,
        percent: false,
    };
    let mut at = 0;
    while at < t.len() {
        let classes = classes_at(t, at);
        if classes.unusual != 0 {
            return None;
        }
        if marks.query.is_none() {
            note_path(&mut marks, classes, at);
        }
        at += 16;
    }
    Some(marks)
}

/// The classes of `t`'s (up to) sixteen bytes from `at`: a whole block where there is one,
/// else the last sixteen bytes of `t` moved down past those already seen (a target shorter
/// than a block is padded with zeros, which are none of the bytes of note).
#[inline(always)]
fn classes_at(t: &[u8], at: usize) -> Classes {
    if let Some(block) = t.get(at..at + 16).and_then(|b| Block::try_from(b).ok()) {
        return classify(&block);
    }
    let last = t.len().checked_sub(16).and_then(|from| t.get(from..));
    match last.and_then(|b| Block::try_from(b).ok()) {
        // `at` is past `t.len() - 16` here, and less than `t.len()`: the shift is 1 to 15.
        Some(block) => classify(&block).from((at + 16 - t.len()) as u32),
        None => {
            let mut block = [0; 16];
            let tail = t.get(at..).unwrap_or_default();
            block.iter_mut().zip(tail).for_each(|(b, &t)| *b = t);
            classify(&block)
        }
    }
}

/// The path's marks in one block at `at`, up to the first `?` when it is in the block.
#[inline(always)]
fn note_path(marks: &mut Marks, c: Classes, at: usize) {
    let mut path = u16::MAX;
    if c.query != 0 {
        let q = c.query.trailing_zeros();
        marks.query = Some(at + q as usize);
        path = (1 << q) - 1;
    }
    // The target's first byte is the path's `/`, not the bucket's end.
    let first = if at == 0 { !1 } else { u16::MAX };
    let slash = c.slash & path & first;
    if marks.slash.is_none() && slash != 0 {
        marks.slash = Some(at + slash.trailing_zeros() as usize);
    }
    marks.percent |= c.percent & path != 0;
}

/// [`classify`] byte by byte: where SSE2 is not there, and what the tests hold it to.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn classify_bytes(block: &Block) -> Classes {
    let bits = |of: fn(u8) -> bool| {
        (0..16).fold(0u16, |m, i| {
            m | u16::from(block.get(i).copied().is_some_and(of)) << i
        })
    };
    Classes {
        unusual: bits(|b| b == b'#' || b == b':'),
        query: bits(|b| b == b'?'),
        slash: bits(|b| b == b'/'),
        percent: bits(|b| b == b'%'),
    }
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
use classify_bytes as classify;

/// The classes of a block's bytes with SSE2 (on every x86-64 CPU): four compares and masks.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn classify(block: &Block) -> Classes {
    // SAFETY: SSE2 is enabled in this build (the function's cfg), so its functions may run.
    unsafe { sse2::classify(block) }
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use super::{Block, Classes};
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };

    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn classify(block: &Block) -> Classes {
        // SAFETY: `block` is 16 readable bytes; the load does not need them aligned.
        let v = unsafe { _mm_loadu_si128(block.as_ptr().cast()) };
        let lanes = |b: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8));
        let bits = |m: __m128i| _mm_movemask_epi8(m) as u16;
        Classes {
            unusual: bits(_mm_or_si128(lanes(b'#'), lanes(b':'))),
            query: bits(lanes(b'?')),
            slash: bits(lanes(b'/')),
            percent: bits(lanes(b'%')),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The marks as the searches they replace find them.
    fn searched(t: &[u8]) -> Option<Marks> {
        if t.iter().any(|&b| b == b'#' || b == b':') {
            return None;
        }
        let query = t.iter().position(|&b| b == b'?');
        let path = &t[..query.unwrap_or(t.len())];
        Some(Marks {
            query,
            slash: path.iter().skip(1).position(|&b| b == b'/').map(|i| i + 1),
            percent: path.contains(&b'%'),
        })
    }

    #[test]
    fn a_usual_target_is_marked() {
        let t = b"/bench-bucket/dir/object-12%20x?list-type=2&prefix=a/b%2F";
        let want = Marks {
            query: Some(31),
            slash: Some(13),
            percent: true,
        };
        assert_eq!(marks(t), Some(want));
        assert_eq!(
            marks(b"/b"),
            Some(Marks {
                query: None,
                slash: None,
                percent: false
            })
        );
        assert_eq!(marks(b"/b/k?x#f"), None);
        assert_eq!(marks(b"/b/http://k"), None);
    }

    /// Mostly bytes of a path, so that a target without `#` or `:` is common.
    fn byte() -> impl Strategy<Value = u8> {
        prop_oneof![
            12 => prop::sample::select(b"ab-.0".to_vec()),
            3 => Just(b'/'),
            2 => Just(b'%'),
            2 => Just(b'?'),
            1 => prop::sample::select(b"#:".to_vec()),
            1 => any::<u8>(),
        ]
    }

    proptest! {
        /// Every length (blocks whole, cut and shorter than one), every place of each byte.
        #[test]
        fn marks_are_what_searching_finds(t in prop::collection::vec(byte(), 0..70)) {
            prop_assert_eq!(marks(&t), searched(&t));
        }

        /// The SSE2 classes are the byte-by-byte ones.
        #[test]
        fn classes_are_the_bytes_classes(block in prop::array::uniform16(byte())) {
            prop_assert_eq!(classify(&block), classify_bytes(&block));
        }
    }
}
