//! Schema fragments for fields whose Rust type does not describe the wire format precisely.

use schemars::{Schema, SchemaGenerator, json_schema};

/// An embedded object whose fields the apiserver must keep as written (`runtime.RawExtension`).
pub(crate) fn preserve_unknown_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

/// Any JSON value (`apiextensionsv1.JSON`).
pub(crate) fn any_json(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

/// A map from names to arbitrary JSON values.
pub(crate) fn json_map(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "additionalProperties": {
            "x-kubernetes-preserve-unknown-fields": true,
        },
    })
}
