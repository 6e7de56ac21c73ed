//! Minimal ISO BMFF box writer (ISO/IEC 14496-12 §4.2): a size-prefixed box whose size is
//! patched once its body is written. The `mp4` crate's writers need a whole typed box tree
//! up front and lack trun v1 with signed offsets and the hvcC/dOps layouts we need, so
//! every box the chunker writes goes through this one small, tested helper.

/// Appends big-endian fields and nested boxes to a byte buffer.
#[derive(Debug, Default)]
pub(crate) struct BoxWriter {
    buf: Vec<u8>,
}

impl BoxWriter {
    /// An empty writer with room for `cap` bytes.
    pub(crate) fn with_capacity(cap: usize) -> Self {
        BoxWriter {
            buf: Vec::with_capacity(cap),
        }
    }

    /// The bytes written so far.
    pub(crate) fn into_inner(self) -> Vec<u8> {
        self.buf
    }

    /// Bytes written so far.
    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }
    pub(crate) fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn u24(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes()[1..]);
        self
    }
    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn i32(&mut self, v: i32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub(crate) fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(v);
        self
    }
    pub(crate) fn zeros(&mut self, n: usize) -> &mut Self {
        self.buf.resize(self.buf.len() + n, 0);
        self
    }

    /// Writes `typ` as a box whose body is what `body` writes (ISO/IEC 14496-12 §4.2: 32-bit
    /// size, including the 8-byte header, then the four-character type).
    pub(crate) fn boxed(&mut self, typ: &[u8; 4], body: impl FnOnce(&mut Self)) -> &mut Self {
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0, 0, 0, 0]);
        self.buf.extend_from_slice(typ);
        body(self);
        let size = (self.buf.len() - start) as u32;
        self.buf[start..start + 4].copy_from_slice(&size.to_be_bytes());
        self
    }

    /// Writes a FullBox (ISO/IEC 14496-12 §4.2): a box whose body starts with an 8-bit version
    /// and 24-bit flags.
    pub(crate) fn full(
        &mut self,
        typ: &[u8; 4],
        version: u8,
        flags: u32,
        body: impl FnOnce(&mut Self),
    ) -> &mut Self {
        self.boxed(typ, |w| {
            w.u8(version).u24(flags);
            body(w);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_sizes_are_patched() {
        let mut w = BoxWriter::default();
        w.boxed(b"moov", |w| {
            w.full(b"mvhd", 1, 0x000203, |w| {
                w.u32(7);
            });
            w.boxed(b"free", |_| {});
        });
        let b = w.into_inner();
        assert_eq!(
            b,
            [
                0, 0, 0, 32, b'm', b'o', b'o', b'v', //
                0, 0, 0, 16, b'm', b'v', b'h', b'd', 1, 0, 2, 3, 0, 0, 0, 7, //
                0, 0, 0, 8, b'f', b'r', b'e', b'e',
            ]
        );
    }

    #[test]
    fn field_widths() {
        let mut w = BoxWriter::with_capacity(0);
        w.u8(1)
            .u16(0x0203)
            .u24(0x040506)
            .u32(0x0708090a)
            .i32(-1)
            .u64(1)
            .zeros(2)
            .bytes(b"ab");
        assert_eq!(w.len(), 1 + 2 + 3 + 4 + 4 + 8 + 2 + 2);
        assert_eq!(&w.into_inner()[..10], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    }
}
