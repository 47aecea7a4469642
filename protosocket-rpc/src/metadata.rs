//! A small map of string keys to text or bytes, carried beside a request or a
//! response: auth tokens, trace ids.

use std::borrow::Cow;
use std::mem::ManuallyDrop;

use bytes::Bytes;

/// One metadata value: text, or bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MetadataValue {
    /// A text value (a trace id, a token in text form).
    Text(String),
    /// A binary value.
    Binary(Bytes),
}

impl MetadataValue {
    /// The text, if this is a text value.
    #[must_use]
    pub fn as_text(&self) -> Option<&str> {
        match self {
            MetadataValue::Text(text) => Some(text),
            MetadataValue::Binary(_) => None,
        }
    }

    /// The bytes of either kind of value (a text value's UTF-8).
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            MetadataValue::Text(text) => text.as_bytes(),
            MetadataValue::Binary(bytes) => bytes,
        }
    }
}

impl From<String> for MetadataValue {
    fn from(text: String) -> Self {
        MetadataValue::Text(text)
    }
}

impl From<&str> for MetadataValue {
    fn from(text: &str) -> Self {
        MetadataValue::Text(text.to_owned())
    }
}

impl From<Bytes> for MetadataValue {
    fn from(bytes: Bytes) -> Self {
        MetadataValue::Binary(bytes)
    }
}

impl From<Vec<u8>> for MetadataValue {
    fn from(bytes: Vec<u8>) -> Self {
        MetadataValue::Binary(bytes.into())
    }
}

/// Metadata of a request or a response: a few entries, in the order they were
/// inserted, one value per key.
///
/// It is a vector searched from the front, which for the handful of entries
/// metadata holds is faster than hashing; an empty one allocates nothing, so a
/// call that carries none pays nothing for it. Keys are compared exactly; by
/// convention they are lower case (`authorization`, `trace-id`).
///
/// ```
/// use protosocket_rpc::{Metadata, MetadataValue};
///
/// let mut metadata = Metadata::new();
/// metadata.insert("trace-id", "4bf92f35");
/// metadata.insert("token", vec![1, 2, 3]);
/// assert_eq!(metadata.text("trace-id"), Some("4bf92f35"));
/// assert_eq!(metadata.get("token").map(MetadataValue::as_bytes), Some(&[1, 2, 3][..]));
/// assert_eq!(metadata.text("token"), None);
/// assert_eq!(metadata.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    // Dropped by hand (see `Drop`): a `Vec`'s drop calls out to drop its
    // elements even when it has none, and a call passes a few empty metadata
    // around.
    entries: ManuallyDrop<Vec<(Cow<'static, str>, MetadataValue)>>,
}

impl Drop for Metadata {
    #[inline]
    fn drop(&mut self) {
        // One that never allocated has nothing to free and no entries.
        if self.entries.capacity() != 0 {
            // SAFETY: dropped once, here, and never used again.
            unsafe { ManuallyDrop::drop(&mut self.entries) }
        }
    }
}

impl Metadata {
    /// Empty metadata; allocates nothing.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            entries: ManuallyDrop::new(Vec::new()),
        }
    }

    /// Whether there are no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many entries there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Sets `key` to `value`, returning the value it replaces.
    pub fn insert(
        &mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<MetadataValue>,
    ) -> Option<MetadataValue> {
        let key = key.into();
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some((_, old)) => Some(std::mem::replace(old, value)),
            None => {
                self.entries.push((key, value));
                None
            }
        }
    }

    /// The value of `key`.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&MetadataValue> {
        self.entries
            .iter()
            .find_map(|(k, value)| (k == key).then_some(value))
    }

    /// The value of `key`, if it is text.
    #[must_use]
    pub fn text(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(MetadataValue::as_text)
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<MetadataValue> {
        let at = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(at).1)
    }

    /// The entries, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &MetadataValue)> {
        self.entries.iter().map(|(key, value)| (&**key, value))
    }

    /// Adds every entry of `other`, replacing values of keys already here.
    pub fn extend(&mut self, other: Metadata) {
        for (key, value) in other {
            self.insert(key, value);
        }
    }
}

impl IntoIterator for Metadata {
    type Item = (Cow<'static, str>, MetadataValue);
    type IntoIter = std::vec::IntoIter<(Cow<'static, str>, MetadataValue)>;

    fn into_iter(mut self) -> Self::IntoIter {
        std::mem::take(&mut *self.entries).into_iter()
    }
}

impl<K, V> FromIterator<(K, V)> for Metadata
where
    K: Into<Cow<'static, str>>,
    V: Into<MetadataValue>,
{
    fn from_iter<I: IntoIterator<Item = (K, V)>>(entries: I) -> Self {
        let mut metadata = Metadata::new();
        for (key, value) in entries {
            metadata.insert(key, value);
        }
        metadata
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_replaces_and_keeps_order() {
        let mut metadata: Metadata = [("a", "1"), ("b", "2")].into_iter().collect();
        assert_eq!(
            metadata.insert("a", "3"),
            Some(MetadataValue::Text("1".into()))
        );
        let keys: Vec<&str> = metadata.iter().map(|(key, _)| key).collect();
        assert_eq!(keys, ["a", "b"]);
        assert_eq!(metadata.text("a"), Some("3"));
        assert_eq!(metadata.remove("a"), Some(MetadataValue::Text("3".into())));
        assert_eq!(metadata.get("a"), None);
        assert_eq!(metadata.len(), 1);
    }

    // Metadata drops its entries by hand: each way it can end frees what it
    // holds once (Miri, in CI, would see a leak or a double free).
    #[test]
    fn every_way_metadata_ends_frees_its_entries_once() {
        let owned = |n: usize| -> Metadata {
            (0..n)
                .map(|i| (format!("key-{i}"), format!("value-{i}")))
                .collect()
        };
        drop(owned(3));
        drop(owned(3).clone());
        let mut emptied = owned(2);
        emptied.remove("key-0");
        emptied.remove("key-1");
        assert!(emptied.is_empty());
        drop(emptied);
        let mut partly = owned(3).into_iter();
        assert_eq!(partly.next().map(|(key, _)| key), Some("key-0".into()));
        drop(partly);
        let mut merged = owned(1);
        merged.extend(owned(2));
        assert_eq!(merged.len(), 2);
        drop(merged);
        drop(Metadata::default());
    }

    #[test]
    fn empty_metadata_has_no_allocation() {
        let metadata = Metadata::new();
        assert_eq!(metadata.entries.capacity(), 0);
        assert!(metadata.is_empty());
    }
}
