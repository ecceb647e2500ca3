//! The people Dex knows in the test environment.
//!
//! Every user has a static password (password grant) and a fixed set of groups.
//! Groups reach the ID token only through the header connector login that
//! [`crate::TestEnv::dex_token`] performs (the pinned Dex does not attach
//! groups to password-database users); see `docs/testenv.md`.

/// A static Dex user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestUser {
    /// Short name tests use (`"requester"`, `"approver"`, …).
    pub name: &'static str,
    /// E-mail address: the Kubernetes user name on the targets (username claim `email`).
    pub email: &'static str,
    /// Password for the password grant.
    pub password: &'static str,
    /// Groups (without the target's group prefix).
    pub groups: &'static [&'static str],
}

/// Password shared by all test users.
pub const PASSWORD: &str = "breakglass-test-password";

/// Requests access; member of `developers`.
pub const REQUESTER: TestUser = TestUser {
    name: "requester",
    email: "requester@example.com",
    password: PASSWORD,
    groups: &["developers"],
};

/// A second requester, also in `developers`.
pub const REQUESTER2: TestUser = TestUser {
    name: "requester2",
    email: "requester2@example.com",
    password: PASSWORD,
    groups: &["developers"],
};

/// Approves requests; member of `sre-leads`.
pub const APPROVER: TestUser = TestUser {
    name: "approver",
    email: "approver@example.com",
    password: PASSWORD,
    groups: &["sre-leads"],
};

/// A second approver, also in `sre-leads`.
pub const APPROVER2: TestUser = TestUser {
    name: "approver2",
    email: "approver2@example.com",
    password: PASSWORD,
    groups: &["sre-leads"],
};

/// A user in no group at all.
pub const NOBODY: TestUser = TestUser {
    name: "nobody",
    email: "nobody@example.com",
    password: PASSWORD,
    groups: &[],
};

/// An administrator (`breakglass-admins`).
pub const ADMIN: TestUser = TestUser {
    name: "admin",
    email: "admin@example.com",
    password: PASSWORD,
    groups: &["breakglass-admins"],
};

/// The identity behind [`crate::TestEnv::automation_token`].
pub const AUTOMATION: TestUser = TestUser {
    name: "automation",
    email: "automation@example.com",
    password: PASSWORD,
    groups: &["automation"],
};

/// All users, in a fixed order.
pub const ALL: [TestUser; 7] = [
    REQUESTER, REQUESTER2, APPROVER, APPROVER2, NOBODY, ADMIN, AUTOMATION,
];

/// Looks a user up by short name or e-mail address.
pub fn find(name_or_email: &str) -> Option<TestUser> {
    ALL.iter()
        .copied()
        .find(|u| u.name == name_or_email || u.email == name_or_email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_emails_are_unique() {
        for (i, a) in ALL.iter().enumerate() {
            for b in &ALL[i + 1..] {
                assert_ne!(a.name, b.name);
                assert_ne!(a.email, b.email);
            }
        }
        assert_eq!(find("approver2"), Some(APPROVER2));
        assert_eq!(find("admin@example.com"), Some(ADMIN));
        assert_eq!(find("mallory"), None);
    }
}
