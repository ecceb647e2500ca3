//! Status conditions (`metav1.Condition`) with apimachinery's
//! `meta.SetStatusCondition` semantics.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// `status: "True"`.
pub const TRUE: &str = "True";
/// `status: "False"`.
pub const FALSE: &str = "False";

/// Builds a condition that transitions at `now`.
pub fn new(
    type_: &str,
    status: &str,
    reason: &str,
    message: impl Into<String>,
    now: Timestamp,
) -> Condition {
    Condition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: reason.to_owned(),
        message: message.into(),
        last_transition_time: Time(now),
        observed_generation: None,
    }
}

/// Inserts `condition`, or updates the condition of the same type in place.
/// As in Go, `lastTransitionTime` only moves when the status changes, so a
/// repeated write does not look like a new transition.
pub fn set(conditions: &mut Vec<Condition>, condition: Condition) {
    match conditions.iter_mut().find(|c| c.type_ == condition.type_) {
        Some(existing) => {
            if existing.status != condition.status {
                existing.status = condition.status;
                existing.last_transition_time = condition.last_transition_time;
            }
            existing.reason = condition.reason;
            existing.message = condition.message;
            existing.observed_generation = condition.observed_generation;
        }
        None => conditions.push(condition),
    }
}

/// The condition of type `type_`, if present.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn set_inserts_then_updates_in_place() {
        let t1: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let t2: Timestamp = "2026-01-01T01:00:00Z".parse().unwrap();
        let t3: Timestamp = "2026-01-01T02:00:00Z".parse().unwrap();
        let mut list = vec![new("Idle", TRUE, "Created", "", t1)];
        set(&mut list, new("Approved", TRUE, "R", "first", t1));
        assert_eq!(list.len(), 2);
        // Same status: message changes, transition time stays.
        set(&mut list, new("Approved", TRUE, "R2", "second", t2));
        let c = find(&list, "Approved").unwrap();
        assert_eq!((c.reason.as_str(), c.message.as_str()), ("R2", "second"));
        assert_eq!(c.last_transition_time, Time(t1));
        // Status change moves the transition time.
        set(&mut list, new("Approved", FALSE, "R3", "third", t3));
        assert_eq!(
            find(&list, "Approved").unwrap().last_transition_time,
            Time(t3)
        );
        assert_eq!(list.len(), 2);
        assert!(find(&list, "Missing").is_none());
    }
}
