//! Short byte strings kept in place: the store's keys and string values, and the
//! replies that carry a copy of one. A key or value that fits is stored inside
//! its map entry, so reading it touches no other memory, and answering it with
//! `GET` takes no reference count and allocates nothing.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};

/// Up to `N` bytes (at most 255), kept in the value itself.
#[derive(Clone, Copy)]
pub struct Inline<const N: usize> {
    len: u8,
    bytes: [u8; N],
}

impl<const N: usize> Inline<N> {
    /// A copy of `bytes`, or `None` when they are longer than `N`.
    #[inline]
    pub fn new(bytes: &[u8]) -> Option<Self> {
        if bytes.len() > N || bytes.len() > usize::from(u8::MAX) {
            return None;
        }
        let mut inline = Self {
            len: bytes.len() as u8,
            bytes: [0; N],
        };
        inline.bytes[..bytes.len()].copy_from_slice(bytes);
        Some(inline)
    }

    /// A copy of the first `len` bytes of `window`, or `None` when `len` is
    /// over `N` or `window` shorter than `N`. Copies `N` bytes whatever `len`
    /// (a fixed-size copy, cheaper than one sized at run time); those past
    /// `len` are never read.
    #[inline]
    pub(crate) fn from_front(window: &[u8], len: usize) -> Option<Self> {
        if len > N || N > usize::from(u8::MAX) {
            return None;
        }
        let bytes = <[u8; N]>::try_from(window.get(..N)?).ok()?;
        Some(Self {
            len: len as u8,
            bytes,
        })
    }

    /// The bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl<const N: usize> PartialEq for Inline<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<const N: usize> Eq for Inline<N> {}

impl<const N: usize> fmt::Debug for Inline<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", bytes::Bytes::copy_from_slice(self.as_slice()))
    }
}

/// The longest key kept in its map entry: with the tag, a key is as large as
/// a `Box<[u8]>` and a byte count (24 bytes).
const KEY_INLINE: usize = 22;

/// A key as the map holds it: in place when short (redis-benchmark's keys are
/// 16 bytes), on the heap otherwise. It hashes and compares as its bytes, so
/// the map is searched with a plain `&[u8]`.
#[derive(Clone)]
pub(crate) enum Key {
    Short(Inline<KEY_INLINE>),
    Long(Box<[u8]>),
}

impl Key {
    #[inline]
    fn as_slice(&self) -> &[u8] {
        match self {
            Key::Short(inline) => inline.as_slice(),
            Key::Long(bytes) => bytes,
        }
    }
}

impl From<&[u8]> for Key {
    #[inline]
    fn from(bytes: &[u8]) -> Self {
        match Inline::new(bytes) {
            Some(inline) => Key::Short(inline),
            None => Key::Long(bytes.into()),
        }
    }
}

impl Borrow<[u8]> for Key {
    #[inline]
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Hash for Key {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        // As `[u8]` hashes, which `Borrow` requires.
        self.as_slice().hash(state);
    }
}

impl PartialEq for Key {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Key {}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", bytes::Bytes::copy_from_slice(self.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn inline_up_to_its_size() {
        assert_eq!(Inline::<4>::new(b"abcd").unwrap().as_slice(), b"abcd");
        assert_eq!(Inline::<4>::new(b"").unwrap().as_slice(), b"");
        assert!(Inline::<4>::new(b"abcde").is_none());
        let front = Inline::<4>::from_front(b"abcdef", 2).unwrap();
        assert_eq!(front.as_slice(), b"ab");
        assert_eq!(front, Inline::<4>::new(b"ab").unwrap());
        assert!(Inline::<4>::from_front(b"abc", 2).is_none());
        assert!(Inline::<4>::from_front(b"abcdef", 5).is_none());
    }

    #[test]
    fn keys_hash_and_compare_as_their_bytes() {
        let hasher = foldhash::fast::RandomState::default();
        for bytes in [&b"short"[..], &[7u8; 100]] {
            let key = Key::from(bytes);
            assert_eq!(hasher.hash_one(&key), hasher.hash_one(bytes));
            assert_eq!(Borrow::<[u8]>::borrow(&key), bytes);
        }
        assert!(matches!(Key::from(&[1u8; 22][..]), Key::Short(_)));
        assert!(matches!(Key::from(&[1u8; 23][..]), Key::Long(_)));
        assert_eq!(std::mem::size_of::<Key>(), 24);
    }
}
