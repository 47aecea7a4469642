//! A small map of string keys to text or bytes, carried beside a request or a
//! response: auth tokens, trace ids.

use std::borrow::Cow;

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
    entries: Vec<(Cow<'static, str>, MetadataValue)>,
}

impl Metadata {
    /// Empty metadata; allocates nothing.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            entries: Vec::new(),
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

    /// Drops empty metadata; one that never allocated needs no drop at all, which
    /// keeps the path of a call without metadata short.
    #[inline]
    pub(crate) fn discard(self) {
        if self.entries.capacity() == 0 {
            // Nothing to free, and no entries to drop.
            std::mem::forget(self);
        }
    }

    /// Adds every entry of `other`, replacing values of keys already here.
    pub fn extend(&mut self, other: Metadata) {
        for (key, value) in other.entries {
            self.insert(key, value);
        }
    }
}

impl IntoIterator for Metadata {
    type Item = (Cow<'static, str>, MetadataValue);
    type IntoIter = std::vec::IntoIter<(Cow<'static, str>, MetadataValue)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
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

    #[test]
    fn empty_metadata_has_no_allocation() {
        let metadata = Metadata::new();
        assert_eq!(metadata.entries.capacity(), 0);
        assert!(metadata.is_empty());
    }
}
