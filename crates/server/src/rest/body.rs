//! Strict request bodies: one JSON value, no unknown fields, no trailing data. Errors
//! name the offending field.

use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Decodes a required JSON body. Empty bodies, malformed JSON, unknown fields and
/// trailing data are 422 with the field path in the message.
pub fn strict<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::Unprocessable(
            "missing input request data: the request body is empty".to_owned(),
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if path.is_empty() || path == "." {
            ApiError::Unprocessable(format!("invalid JSON or unknown fields: {inner}"))
        } else {
            ApiError::Unprocessable(format!("invalid JSON or unknown fields: {path}: {inner}"))
        }
    })?;
    de.end().map_err(|e| {
        ApiError::Unprocessable(format!("invalid JSON: trailing data after the object: {e}"))
    })?;
    Ok(value)
}

/// Decodes an optional JSON body: empty means the default value.
pub fn optional<T: DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        strict(bytes)
    }
}

/// For actions that take no body: anything but an empty body (or `{}`) is a 400.
pub fn none(bytes: &[u8]) -> Result<(), ApiError> {
    let trimmed: Vec<u8> = bytes
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if trimmed.is_empty() || trimmed == b"{}" {
        Ok(())
    } else {
        Err(ApiError::BadRequest(
            "this action takes no request body".to_owned(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Body {
        cluster: String,
        #[serde(default)]
        duration: Option<i64>,
    }

    #[test]
    fn strictness_table() {
        let ok: Result<Body, _> = strict(br#"{"cluster":"a"}"#);
        assert_eq!(
            ok.ok(),
            Some(Body {
                cluster: "a".into(),
                duration: None
            })
        );
        for (input, fragment) in [
            (&b""[..], "missing input request data"),
            (b"  ", "missing input request data"),
            (b"{", "invalid JSON"),
            (br#"{"cluster":"a","extra":1}"#, "extra"),
            (br#"{"cluster":"a","duration":"x"}"#, "duration"),
            (br#"{"cluster":"a"} {"cluster":"b"}"#, "trailing"),
            (b"[]", "invalid JSON"),
        ] {
            let err = strict::<Body>(input)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                err.contains(fragment),
                "{:?}: {err}",
                String::from_utf8_lossy(input)
            );
        }
        assert_eq!(optional::<Body>(b"").ok(), Some(Body::default()));
        assert!(none(b"").is_ok());
        assert!(none(b" {} ").is_ok());
        assert!(none(br#"{"reason":"x"}"#).is_err());
    }
}
