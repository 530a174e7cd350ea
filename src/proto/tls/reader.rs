//! A bounds-checked cursor over wire bytes: every read says which field ran short, so a
//! malformed hello becomes a reason, never a panic (RFC 8446 §3 presentation language).

/// What went wrong reading a field: the input ended inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("truncated {0}")]
pub struct Truncated(pub &'static str);

/// Reads big-endian integers and length-prefixed vectors (`opaque x<0..2^8-1>` etc.).
#[derive(Debug, Clone, Copy)]
pub(super) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The next `n` bytes.
    pub(super) fn bytes(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], Truncated> {
        if n > self.buf.len() {
            return Err(Truncated(field));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub(super) fn u8(&mut self, field: &'static str) -> Result<u8, Truncated> {
        let b = self.bytes(1, field)?;
        Ok(b.first().copied().unwrap_or_default())
    }

    pub(super) fn u16(&mut self, field: &'static str) -> Result<u16, Truncated> {
        let b = self.bytes(2, field)?;
        Ok(b.iter().fold(0u16, |acc, &x| (acc << 8) | u16::from(x)))
    }

    /// A fixed-size array such as the 32-byte `Random`.
    pub(super) fn array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], Truncated> {
        let b = self.bytes(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    /// A vector with a one-byte length prefix.
    pub(super) fn vec8(&mut self, field: &'static str) -> Result<&'a [u8], Truncated> {
        let n = self.u8(field)?;
        self.bytes(usize::from(n), field)
    }

    /// A vector with a two-byte length prefix.
    pub(super) fn vec16(&mut self, field: &'static str) -> Result<&'a [u8], Truncated> {
        let n = self.u16(field)?;
        self.bytes(usize::from(n), field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_integers_and_vectors_big_endian() {
        let mut r = Reader::new(&[0x01, 0x02, 0x06, 0x02, 0xaa, 0xbb, 0x00, 0x01, 0x07]);
        assert_eq!(r.u16("a"), Ok(0x0102));
        assert_eq!(r.u8("c"), Ok(0x06));
        assert_eq!(r.vec8("d"), Ok(&[0xaa, 0xbb][..]));
        assert_eq!(r.vec16("e"), Ok(&[0x07][..]));
        assert!(r.is_empty());
    }

    #[test]
    fn short_input_names_the_field() {
        let mut r = Reader::new(&[0x00, 0x05, 0x01]);
        assert_eq!(r.vec16("cipher_suites"), Err(Truncated("cipher_suites")));
        assert_eq!(r.array::<32>("random"), Err(Truncated("random")));
        assert_eq!(r.u8("x"), Ok(0x01));
        assert_eq!(r.u16("y"), Err(Truncated("y")));
    }
}
