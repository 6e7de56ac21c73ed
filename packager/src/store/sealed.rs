//! Complete segments in sealed shared memory.
//!
//! When a segment closes, its bytes go into a memfd that is then sealed against every change
//! (F_SEAL_WRITE, F_SEAL_SHRINK, F_SEAL_GROW) and mapped read-only; the segment's `Bytes`, and
//! its parts as slices of them, are that mapping. The window still holds each byte once, in
//! pages the kernel can hand to a socket by reference: [`locate`] tells, for any slice of
//! such a segment, which file and offset it is, so the origin can `sendfile` it instead of
//! copying it into every socket (nginx's advantage serving files, without leaving memory).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write as _};
use std::sync::{Arc, OnceLock, RwLock};

use bytes::Bytes;

/// The owner of a sealed segment's `Bytes`: its mapping. Dropped with the last slice, it takes
/// the segment out of the lookup table (which holds the file).
struct Sealed {
    map: memmap2::Mmap,
}

impl AsRef<[u8]> for Sealed {
    fn as_ref(&self) -> &[u8] {
        &self.map
    }
}

impl Drop for Sealed {
    fn drop(&mut self) {
        let mut r = regions().write().unwrap_or_else(|e| e.into_inner());
        r.remove(&(self.map.as_ptr() as usize));
    }
}

/// Mapped sealed segments by start address: their length and file.
type Regions = RwLock<BTreeMap<usize, (usize, Arc<File>)>>;

fn regions() -> &'static Regions {
    static REGIONS: OnceLock<Regions> = OnceLock::new();
    REGIONS.get_or_init(Default::default)
}

/// The concatenation of `chunks` as one buffer in sealed shared memory. Fails where the
/// system has no sealable memfd (the caller then keeps the bytes on the heap).
pub fn seal(chunks: &[&[u8]]) -> io::Result<Bytes> {
    let len: usize = chunks.iter().map(|c| c.len()).sum();
    if len == 0 {
        return Ok(Bytes::new());
    }
    use rustix::fs::{MemfdFlags, SealFlags};
    let fd = rustix::fs::memfd_create(
        "llhls-segment",
        MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
    )?;
    let mut file = File::from(fd);
    for c in chunks {
        file.write_all(c)?;
    }
    rustix::fs::fcntl_add_seals(
        &file,
        SealFlags::WRITE | SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL,
    )?;
    // SAFETY: a mapping is unsound only if the file changes under it. This memfd has no name
    // in any file system, no other descriptor, and seals that make the kernel refuse every
    // write, truncation and growth (and any change to the seals) from here on, so its bytes
    // stay as written for the mapping's whole life.
    let map = unsafe { memmap2::MmapOptions::new().len(len).map(&file)? };
    regions()
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(map.as_ptr() as usize, (len, Arc::new(file)));
    Ok(Bytes::from_owner(Sealed { map }))
}

/// Where `buf` lies in a sealed segment, when it lies wholly inside one: the segment's file
/// and the offset of `buf`'s first byte in it. `buf` must be borrowed from a live `Bytes`
/// (as every write of one is), which keeps the segment mapped while it is used.
pub fn locate(buf: &[u8]) -> Option<(Arc<File>, u64)> {
    let at = buf.as_ptr() as usize;
    let r = regions().read().unwrap_or_else(|e| e.into_inner());
    let (&base, (len, file)) = r.range(..=at).next_back()?;
    (at + buf.len() <= base + len).then(|| (Arc::clone(file), (at - base) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileExt as _;

    #[test]
    fn sealed_bytes_are_the_chunks_and_locate_finds_every_slice() {
        let a: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        let b = vec![7u8; 3000];
        let whole = seal(&[&a, &b]).unwrap();
        assert_eq!(whole.len(), 8000);
        assert_eq!(&whole[..5000], &a[..]);
        assert_eq!(&whole[5000..], &b[..]);
        let part = whole.slice(4000..6500);
        let (file, off) = locate(&part).unwrap();
        assert_eq!(off, 4000);
        let mut back = vec![0u8; part.len()];
        file.read_exact_at(&mut back, off).unwrap();
        assert_eq!(back, part.to_vec());
        // Heap bytes are not located.
        assert!(locate(&a).is_none());
    }

    #[test]
    fn the_file_refuses_writes_and_the_region_goes_with_the_last_slice() {
        let whole = seal(&[b"immutable bytes"]).unwrap();
        let (file, _) = locate(&whole).unwrap();
        assert!(
            file.write_at(b"X", 0).is_err(),
            "a sealed memfd took a write"
        );
        assert!(file.set_len(1).is_err(), "a sealed memfd was truncated");
        let tail = whole.slice(10..);
        drop(whole);
        assert!(locate(&tail).is_some(), "a live slice keeps the segment");
        drop(tail);
        // The registry held the other reference to the file; it is gone with the mapping.
        assert_eq!(
            Arc::strong_count(&file),
            1,
            "the region outlived its last slice"
        );
    }
}
