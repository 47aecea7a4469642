//! The plain fields of each method's body: integers, `bool` and `string`
//! fields that the generated envelopes read in line (through
//! `protosocket_prost::merge_message_with`) instead of through the body's
//! derived `merge_field`.
//!
//! A field is read in line only where its Rust field is certain: the body is
//! a top-level message of a proto3 file that declares a service (so prost
//! generates it in the service's own module: a message mapped elsewhere with
//! `extern_path` has a path, and is left to prost), the field is singular
//! with no presence (not `optional`, not in a `oneof`), and its name is one
//! that prost's `to_snake` leaves as it is. Every other field, and every
//! other body, is read by prost as before.

use std::collections::BTreeMap;

use heck::ToSnakeCase;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{FieldDescriptorProto, FileDescriptorSet};

/// What a plain field holds, and so how it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    U64,
    U32,
    I64,
    I32,
    Bool,
    Str,
}

/// A body field read in line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field {
    pub(crate) tag: u32,
    /// The Rust field's name.
    pub(crate) name: String,
    pub(crate) kind: Kind,
}

/// A method's body on one side: its Rust struct's name (for prost's error
/// context) and its fields read in line.
#[derive(Debug, Clone, Default)]
pub(crate) struct Body {
    pub(crate) name: String,
    /// In tag order.
    pub(crate) fields: Vec<Field>,
    /// Every field of the body is in `fields` (it has no other), so the
    /// envelopes write it in line too.
    pub(crate) all_plain: bool,
}

/// A candidate body's plain fields, and whether it has others.
#[derive(Debug, Clone)]
struct Plain {
    fields: Vec<Field>,
    all: bool,
}

/// The plain fields of each message that may be a body, by its fully
/// qualified name (`.package.Message`, as prost-build's methods name their
/// input and output types).
#[derive(Debug, Default)]
pub(crate) struct Bodies {
    fields: BTreeMap<String, Plain>,
}

impl Bodies {
    /// The candidates of `files`: the top-level messages of every proto3 file
    /// with a service.
    pub(crate) fn of(files: &FileDescriptorSet) -> Self {
        let mut fields = BTreeMap::new();
        for file in &files.file {
            if file.service.is_empty() || file.syntax() != "proto3" {
                continue;
            }
            for message in &file.message_type {
                let mut plain: Vec<Field> = message.field.iter().filter_map(plain).collect();
                plain.sort_by_key(|field| field.tag);
                let all = plain.len() == message.field.len();
                if !plain.is_empty() || all {
                    let name = if file.package().is_empty() {
                        format!(".{}", message.name())
                    } else {
                        format!(".{}.{}", file.package(), message.name())
                    };
                    fields.insert(name, Plain { fields: plain, all });
                }
            }
        }
        Self { fields }
    }

    /// The body whose proto type is `proto_type` and whose Rust type
    /// prost-build spells `rust_type`: no fields unless prost generates it in
    /// the service's module (a plain name, no path).
    pub(crate) fn body(&self, proto_type: &str, rust_type: &str) -> Body {
        let local = !rust_type.contains("::") && !rust_type.contains(['(', '<']);
        match self.fields.get(proto_type) {
            Some(plain) if local => Body {
                name: rust_type.to_owned(),
                fields: plain.fields.clone(),
                all_plain: plain.all,
            },
            _ => Body {
                name: rust_type.to_owned(),
                fields: Vec::new(),
                all_plain: false,
            },
        }
    }
}

/// `field` as a plain field, if it is one.
fn plain(field: &FieldDescriptorProto) -> Option<Field> {
    if field.label() != Label::Optional || field.proto3_optional() || field.oneof_index.is_some() {
        return None;
    }
    let kind = match field.r#type() {
        Type::Uint64 => Kind::U64,
        Type::Uint32 => Kind::U32,
        Type::Int64 => Kind::I64,
        Type::Int32 => Kind::I32,
        Type::Bool => Kind::Bool,
        Type::String => Kind::Str,
        _ => return None,
    };
    Some(Field {
        tag: u32::try_from(field.number()).ok()?,
        name: rust_field_name(field.name())?,
        kind,
    })
}

/// The Rust name prost gives a field named `name`, where it is the snake case
/// of the name as it is: `None` for a name prost would change further (a
/// keyword, which it makes raw or suffixes, or a leading digit).
fn rust_field_name(name: &str) -> Option<String> {
    let snake = name.to_snake_case();
    let plain = snake.starts_with(|c: char| c.is_ascii_lowercase())
        && snake
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !KEYWORDS.contains(&snake.as_str());
    plain.then_some(snake)
}

/// Every keyword prost-build's `sanitize_identifier` changes a field name for,
/// and Rust's others.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "union", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_kept_and_others_left_to_prost() {
        assert_eq!(rust_field_name("nanotime").as_deref(), Some("nanotime"));
        assert_eq!(
            rust_field_name("item_count2").as_deref(),
            Some("item_count2")
        );
        assert_eq!(rust_field_name("itemCount").as_deref(), Some("item_count"));
        assert_eq!(rust_field_name("type"), None);
        assert_eq!(rust_field_name("self"), None);
        assert_eq!(rust_field_name("gen"), None);
        assert_eq!(rust_field_name("1st"), None);
    }

    #[test]
    fn only_singular_fields_without_presence_of_plain_types() {
        let field =
            |label: Label, kind: Type, optional: bool, oneof: Option<i32>| FieldDescriptorProto {
                name: Some("value".into()),
                number: Some(3),
                label: Some(label.into()),
                r#type: Some(kind.into()),
                proto3_optional: Some(optional),
                oneof_index: oneof,
                ..FieldDescriptorProto::default()
            };
        assert_eq!(
            plain(&field(Label::Optional, Type::Uint64, false, None)),
            Some(Field {
                tag: 3,
                name: "value".into(),
                kind: Kind::U64
            })
        );
        assert_eq!(
            plain(&field(Label::Repeated, Type::Uint64, false, None)),
            None
        );
        assert_eq!(
            plain(&field(Label::Optional, Type::Uint64, true, Some(0))),
            None
        );
        assert_eq!(
            plain(&field(Label::Optional, Type::String, false, Some(1))),
            None
        );
        assert_eq!(
            plain(&field(Label::Optional, Type::Bytes, false, None)),
            None
        );
        assert_eq!(
            plain(&field(Label::Optional, Type::Sint64, false, None)),
            None
        );
        assert_eq!(
            plain(&field(Label::Optional, Type::Enum, false, None)),
            None
        );
    }
}
