//! Writes the `Message` impl for the fields [`Fields::read`] found.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::DeriveInput;

use crate::attributes::{Fields, Marked};

/// The `impl ::protosocket_rpc::Message` for `input`.
pub(crate) fn message_impl(input: &DeriveInput, fields: &Fields) -> TokenStream {
    let name = &input.ident;
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    let support = quote!(::protosocket_rpc::derive_support);
    let rpc = quote!(::protosocket_rpc);
    let id = spanned_field(&fields.id);
    let code = spanned_field(&fields.code);
    // Each access is spanned at its field's type, so a field of the wrong type
    // is reported there.
    let read_id = quote_spanned!(fields.id.ty.span()=> { let id: u64 = self.#id; id });
    let write_id = quote_spanned!(fields.id.ty.span()=> message.#id = id;);
    let read_code = quote_spanned!(fields.code.ty.span()=> { let code: u32 = self.#code; code });
    let write_code = quote_spanned!(fields.code.ty.span()=> message.#code = code.as_u32(););

    let status = fields.status.as_ref().map(|(status_code, status_message)| {
        let code_field = spanned_field(status_code);
        let message_field = spanned_field(status_message);
        let write = quote_spanned!(status_code.ty.span()=>
            message.#code_field = status.code().as_u32();
        );
        let write_message = quote_spanned!(status_message.ty.span()=>
            message.#message_field = #support::status_message(status);
        );
        quote! {
            fn with_status(id: u64, status: #rpc::Status) -> Self {
                let mut message = <Self as #rpc::Message>::control(id, #rpc::ControlCode::Status);
                #write
                #write_message
                message
            }

            fn take_status(&mut self) -> ::core::option::Option<#rpc::Status> {
                let code = <Self as #rpc::Message>::control_code(self);
                #support::take_status(code, &mut self.#code_field, &mut self.#message_field)
            }
        }
    });

    let metadata = fields.metadata.as_ref().map(|marked| {
        let field = spanned_field(marked);
        let ty = &marked.ty;
        quote_spanned! {ty.span()=>
            fn take_metadata(&mut self) -> #rpc::Metadata {
                <#ty as #support::MetadataField>::take_metadata(&mut self.#field)
            }

            fn set_metadata(&mut self, metadata: #rpc::Metadata) {
                <#ty as #support::MetadataField>::set_metadata(&mut self.#field, metadata)
            }
        }
    });

    let timeout = fields.timeout.as_ref().map(|marked| {
        let field = spanned_field(marked);
        let ty = &marked.ty;
        quote_spanned! {ty.span()=>
            fn timeout(&self) -> ::core::option::Option<::core::time::Duration> {
                <#ty as #support::TimeoutField>::timeout(&self.#field)
            }

            fn set_timeout(&mut self, timeout: ::core::option::Option<::core::time::Duration>) {
                <#ty as #support::TimeoutField>::set_timeout(&mut self.#field, timeout)
            }
        }
    });

    quote! {
        #[automatically_derived]
        impl #impl_generics #rpc::Message for #name #type_generics #where_clause {
            #[inline]
            fn message_id(&self) -> u64 #read_id

            #[inline]
            fn set_message_id(&mut self, id: u64) {
                let message = self;
                #write_id
            }

            #[inline]
            fn control_code(&self) -> #rpc::ControlCode {
                #rpc::ControlCode::from_u32(#read_code)
            }

            fn cancelled(id: u64) -> Self {
                <Self as #rpc::Message>::control(id, #rpc::ControlCode::Cancel)
            }

            fn ended(id: u64) -> Self {
                <Self as #rpc::Message>::control(id, #rpc::ControlCode::End)
            }

            fn control(id: u64, code: #rpc::ControlCode) -> Self {
                let mut message = <Self as ::core::default::Default>::default();
                #write_id
                #write_code
                message
            }

            #status
            #metadata
            #timeout
        }
    }
}

/// The field's name, as a token spanned at the field.
fn spanned_field(marked: &Marked) -> TokenStream {
    let ident = &marked.ident;
    quote_spanned!(ident.span()=> #ident)
}
