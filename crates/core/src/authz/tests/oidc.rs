//! OIDC prefix handling (inventory §3.3, tests §0).

use crate::authz::oidc::*;

const PREFIXES: [&str; 2] = ["oidc:", "keycloak:"];

#[test]
fn strip_removes_the_first_matching_prefix_only() {
    let cases = [
        ("oidc:admins", "admins"),
        ("keycloak:admins", "admins"),
        ("admins", "admins"),
        ("oidc:keycloak:admins", "keycloak:admins"),
        ("OIDC:admins", "OIDC:admins"),
        ("", ""),
    ];
    for (group, want) in cases {
        assert_eq!(strip_oidc_prefix(group, &PREFIXES), want, "{group}");
    }
    assert_eq!(
        strip_oidc_prefix("oidc:x", &["", "oidc:"]),
        "x",
        "empty prefixes are ignored"
    );
    assert_eq!(strip_oidc_prefix("oidc:x", &[] as &[&str]), "oidc:x");
}

#[test]
fn strip_all_dedupes_in_order() {
    assert_eq!(
        strip_all(
            &["oidc:a", "b", "keycloak:a", "system:authenticated"],
            &PREFIXES
        ),
        ["a", "b", "system:authenticated"]
    );
}

#[test]
fn spellings_try_the_prefix_seen_on_the_request_first() {
    let cases: [(&str, &[&str], &[&str]); 6] = [
        // Request groups carry `keycloak:` → that spelling first, then bare, then the rest.
        (
            "admins",
            &["keycloak:dev", "system:authenticated"],
            &["keycloak:admins", "admins", "oidc:admins"],
        ),
        (
            "admins",
            &["oidc:dev"],
            &["oidc:admins", "admins", "keycloak:admins"],
        ),
        // No prefix seen → bare first, then configuration order.
        (
            "admins",
            &["dev"],
            &["admins", "oidc:admins", "keycloak:admins"],
        ),
        ("admins", &[], &["admins", "oidc:admins", "keycloak:admins"]),
        // A stored prefixed group is never stripped: prefixes are only added.
        (
            "oidc:admins",
            &[],
            &["oidc:admins", "oidc:oidc:admins", "keycloak:oidc:admins"],
        ),
        // Both prefixes seen → in order of first appearance.
        (
            "admins",
            &["keycloak:a", "oidc:b", "keycloak:c"],
            &["keycloak:admins", "oidc:admins", "admins"],
        ),
    ];
    for (group, sar_groups, want) in cases {
        assert_eq!(
            group_spellings(group, sar_groups, &PREFIXES),
            want,
            "{group} {sar_groups:?}"
        );
    }
    assert_eq!(
        group_spellings("admins", &["oidc:x"], &[] as &[&str]),
        ["admins"]
    );
}

#[test]
fn a_prefix_is_never_stripped_into_a_system_group() {
    // Before, `oidc:system:masters` was also tried as `system:masters`.
    assert!(group_spellings("oidc:system:masters", &["oidc:x"], &PREFIXES).is_empty());
    for g in [
        "system:masters",
        "oidc:system:masters",
        "OIDC:SYSTEM:MASTERS",
        "x-System:nodes",
    ] {
        assert!(could_be_system_group(g), "{g}");
    }
    for g in [
        "admins",
        "oidc:admins",
        "systems",
        "system-admins",
        "ops:sys",
    ] {
        assert!(!could_be_system_group(g), "{g}");
    }
    // A configured prefix that would itself produce a system: group is skipped.
    assert_eq!(
        group_spellings("masters", &["system:x"], &["system:", "oidc:"]),
        ["masters", "oidc:masters"]
    );
}
