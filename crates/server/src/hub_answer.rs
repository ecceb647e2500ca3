//! How a failed hub request is read: one place interprets Kubernetes status codes for
//! the writers and handlers that react to them (`error` maps the rest to HTTP).

/// What a failed hub request means to the code that made it. Every place that reacts to
/// a hub answer reads it through here, so status codes are interpreted in one module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HubAnswer {
    /// 404 or 410: the object is not there (any more).
    NotFound,
    /// 409: the object changed since it was read, or already exists.
    Conflict,
    /// Any other refusal or failure.
    Failed,
}

impl HubAnswer {
    /// Classifies a kube client error.
    pub fn of(err: &kube::Error) -> Self {
        match err {
            kube::Error::Api(status) => match status.code {
                404 | 410 => Self::NotFound,
                409 => Self::Conflict,
                _ => Self::Failed,
            },
            _ => Self::Failed,
        }
    }
}

/// True when the hub answered 404/410.
pub fn is_not_found(err: &kube::Error) -> bool {
    HubAnswer::of(err) == HubAnswer::NotFound
}

/// True when the hub answered 409.
pub fn is_conflict(err: &kube::Error) -> bool {
    HubAnswer::of(err) == HubAnswer::Conflict
}

#[cfg(test)]
mod tests {
    use kube::core::Status;

    use super::*;

    fn api(code: u16) -> kube::Error {
        kube::Error::Api(Box::new(Status {
            code,
            ..Status::default()
        }))
    }

    #[test]
    fn status_codes_are_read_in_one_place() {
        assert_eq!(HubAnswer::of(&api(404)), HubAnswer::NotFound);
        assert_eq!(HubAnswer::of(&api(410)), HubAnswer::NotFound);
        assert_eq!(HubAnswer::of(&api(409)), HubAnswer::Conflict);
        for code in [400, 401, 403, 422, 429, 500, 503] {
            assert_eq!(HubAnswer::of(&api(code)), HubAnswer::Failed, "{code}");
        }
        assert!(is_conflict(&api(409)) && !is_conflict(&api(404)));
        assert!(is_not_found(&api(404)) && !is_not_found(&api(409)));
        let transport = kube::Error::LinesCodecMaxLineLengthExceeded;
        assert_eq!(HubAnswer::of(&transport), HubAnswer::Failed);
    }
}
