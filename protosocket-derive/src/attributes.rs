//! Reads the `#[rpc(...)]` markers of a struct's fields.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Error, Field, Fields as SynFields, Ident, Type};

/// What a marked field carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Id,
    Code,
    StatusCode,
    StatusMessage,
    Metadata,
    Timeout,
}

impl Role {
    const ALL: [(&'static str, Role); 6] = [
        ("id", Role::Id),
        ("code", Role::Code),
        ("status_code", Role::StatusCode),
        ("status_message", Role::StatusMessage),
        ("metadata", Role::Metadata),
        ("timeout", Role::Timeout),
    ];

    fn name(self) -> &'static str {
        Role::ALL
            .iter()
            .find_map(|(name, role)| (*role == self).then_some(*name))
            .unwrap_or("?")
    }
}

/// A marked field: its name and its type (for spans of type errors).
// No `Debug` here or on `Fields`: syn implements it only with its `extra-traits`
// feature, which this crate does not need. The workspace build gets that feature
// from another crate; a build from the published package alone does not.
#[derive(Clone)]
pub(crate) struct Marked {
    pub(crate) ident: Ident,
    pub(crate) ty: Type,
}

/// The fields the derive uses, by role.
pub(crate) struct Fields {
    pub(crate) id: Marked,
    pub(crate) code: Marked,
    /// The status code and message fields, present together or not at all.
    pub(crate) status: Option<(Marked, Marked)>,
    pub(crate) metadata: Option<Marked>,
    pub(crate) timeout: Option<Marked>,
}

impl Fields {
    /// The marked fields of `input`.
    ///
    /// # Errors
    ///
    /// Spanned at the offender: not a struct with named fields, an unknown or
    /// repeated marker, a field with two markers, a missing id or code, a status
    /// code without a status message (or the other way round).
    pub(crate) fn read(input: &DeriveInput) -> Result<Self, Error> {
        let named = match &input.data {
            Data::Struct(data) => match &data.fields {
                SynFields::Named(named) => &named.named,
                other => {
                    return Err(Error::new(
                        other.span(),
                        "#[derive(Message)] needs a struct with named fields",
                    ))
                }
            },
            Data::Enum(data) => {
                return Err(Error::new(
                    data.enum_token.span,
                    "#[derive(Message)] is for structs; an enum has no id field",
                ))
            }
            Data::Union(data) => {
                return Err(Error::new(
                    data.union_token.span,
                    "#[derive(Message)] is for structs, not unions",
                ))
            }
        };
        let mut found: Vec<(Role, Marked, Span)> = Vec::new();
        for field in named {
            if let Some((role, span)) = role_of(field)? {
                if let Some((_, first, _)) = found.iter().find(|(seen, _, _)| *seen == role) {
                    return Err(Error::new(
                        span,
                        format!(
                            "#[rpc({})] is already on field `{}`; mark one field",
                            role.name(),
                            first.ident
                        ),
                    ));
                }
                let marked = Marked {
                    ident: field.ident.clone().ok_or_else(|| {
                        Error::new(field.span(), "#[derive(Message)] needs named fields")
                    })?,
                    ty: field.ty.clone(),
                };
                found.push((role, marked, span));
            }
        }
        let mut take = |role: Role| {
            found
                .iter()
                .position(|(seen, _, _)| *seen == role)
                .map(|at| found.swap_remove(at))
        };
        let missing = |role: Role| {
            Error::new(
                input.ident.span(),
                format!(
                    "#[derive(Message)] needs a field marked #[rpc({})] ({})",
                    role.name(),
                    match role {
                        Role::Id => "the rpc's id, a u64",
                        _ => "the control code, a u32",
                    }
                ),
            )
        };
        let id = take(Role::Id).ok_or_else(|| missing(Role::Id))?.1;
        let code = take(Role::Code).ok_or_else(|| missing(Role::Code))?.1;
        let status = match (take(Role::StatusCode), take(Role::StatusMessage)) {
            (Some(code), Some(message)) => Some((code.1, message.1)),
            (None, None) => None,
            (Some((_, _, span)), None) => {
                return Err(Error::new(
                    span,
                    "#[rpc(status_code)] needs a String field marked #[rpc(status_message)]",
                ))
            }
            (None, Some((_, _, span))) => {
                return Err(Error::new(
                    span,
                    "#[rpc(status_message)] needs a u32 field marked #[rpc(status_code)]",
                ))
            }
        };
        let metadata = take(Role::Metadata).map(|found| found.1);
        let timeout = take(Role::Timeout).map(|found| found.1);
        Ok(Fields {
            id,
            code,
            status,
            metadata,
            timeout,
        })
    }
}

/// The role of `field`'s `#[rpc(...)]` marker, with the marker's span.
fn role_of(field: &Field) -> Result<Option<(Role, Span)>, Error> {
    let mut role: Option<(Role, Span)> = None;
    for attribute in field.attrs.iter().filter(|a| a.path().is_ident("rpc")) {
        attribute.parse_nested_meta(|meta| {
            let span = meta.path.span();
            let name = meta
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            let Some((_, this)) = Role::ALL.iter().find(|(known, _)| *known == name) else {
                return Err(meta.error(format!(
                    "unknown rpc field marker `{}`; expected one of: id, code, status_code, \
                     status_message, metadata, timeout",
                    meta.path.to_token_stream_string()
                )));
            };
            if let Some((first, _)) = role {
                return Err(Error::new(
                    span,
                    format!(
                        "a field carries one thing: it is already #[rpc({})]",
                        first.name()
                    ),
                ));
            }
            role = Some((*this, span));
            Ok(())
        })?;
    }
    Ok(role)
}

/// A path as the user wrote it, for error messages.
trait PathText {
    fn to_token_stream_string(&self) -> String;
}

impl PathText for syn::Path {
    fn to_token_stream_string(&self) -> String {
        quote::ToTokens::to_token_stream(self)
            .to_string()
            .replace(' ', "")
    }
}
