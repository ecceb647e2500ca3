//! Kubernetes RBAC, evaluated in memory with exactly the apiserver's semantics.
//!
//! The webhook asks, for a session's group, "would the target cluster allow this
//! request to a user holding only that group?". Asking the target with a
//! SubjectAccessReview costs a round trip per question; [`RbacIndex`] answers it from a
//! copy of the target's Roles, ClusterRoles, RoleBindings and ClusterRoleBindings.
//!
//! The rules follow the apiserver's RBAC authorizer (`plugin/pkg/auth/authorizer/rbac`
//! and `pkg/apis/rbac/v1/evaluation_helpers.go` in kubernetes/kubernetes) and the
//! privileged-group authorizer that precedes it in every apiserver's chain:
//!
//! - a member of `system:masters` is allowed everything;
//! - ClusterRoleBindings are consulted for every request, RoleBindings only for a
//!   resource request with a namespace, and only those of that namespace;
//! - a binding applies when one subject names the user (`User`), one of its groups
//!   (`Group`), or the user as a service account (`ServiceAccount`, whose empty
//!   namespace means the RoleBinding's own and never matches in a ClusterRoleBinding);
//!   other subject kinds never apply;
//! - a RoleBinding's `Role` is looked up in the binding's namespace, a `ClusterRole` by
//!   name; a ClusterRoleBinding resolves only ClusterRoles; a missing role grants
//!   nothing;
//! - a rule allows a resource request when its verbs, API groups, resources and
//!   resource names all match: `*` matches any verb, group or resource; a request for
//!   a subresource is the resource `pods/exec`, also matched by `*/exec`; a rule with
//!   resource names matches only requests naming one of them; a non-resource request
//!   when a verb matches and a URL is `*`, equal to the path, or ends in `*` and the
//!   path starts with what precedes the trailing `*`s.
//!
//! Aggregated ClusterRoles need no special case: the controller manager writes the
//! aggregated rules into the ClusterRole's `rules`, which is what the apiserver reads
//! too.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};

/// The group whose members every apiserver allows everything, before RBAC.
pub const PRIVILEGED_GROUP: &str = "system:masters";

/// The prefix of a service account's user name: `system:serviceaccount:<ns>:<name>`.
pub const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";

/// What is asked, borrowed from the review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// A request for a resource.
    Resource {
        /// Verb.
        verb: &'a str,
        /// API group (`""` for core).
        group: &'a str,
        /// Resource.
        resource: &'a str,
        /// Subresource, empty for the resource itself.
        subresource: &'a str,
        /// Namespace, empty for cluster-wide requests.
        namespace: &'a str,
        /// Object name, empty for collections.
        name: &'a str,
    },
    /// A request for a non-resource URL.
    NonResource {
        /// Verb.
        verb: &'a str,
        /// URL path.
        path: &'a str,
    },
}

/// One rule of a role, as the authorizer reads it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rule {
    verbs: Box<[Box<str>]>,
    api_groups: Box<[Box<str>]>,
    resources: Box<[Box<str>]>,
    resource_names: Box<[Box<str>]>,
    non_resource_urls: Box<[Box<str>]>,
}

fn boxed(list: Option<&Vec<String>>) -> Box<[Box<str>]> {
    list.map(|l| l.iter().map(|s| Box::from(s.as_str())).collect())
        .unwrap_or_default()
}

impl From<&PolicyRule> for Rule {
    fn from(r: &PolicyRule) -> Self {
        Self {
            verbs: r.verbs.iter().map(|s| Box::from(s.as_str())).collect(),
            api_groups: boxed(r.api_groups.as_ref()),
            resources: boxed(r.resources.as_ref()),
            resource_names: boxed(r.resource_names.as_ref()),
            non_resource_urls: boxed(r.non_resource_urls.as_ref()),
        }
    }
}

fn any_is(list: &[Box<str>], wanted: &str, wildcard: &str) -> bool {
    list.iter().any(|s| &**s == wildcard || &**s == wanted)
}

impl Rule {
    /// Does this rule allow `request`?
    pub fn allows(&self, request: &Request<'_>) -> bool {
        match *request {
            Request::Resource {
                verb,
                group,
                resource,
                subresource,
                name,
                ..
            } => {
                any_is(&self.verbs, verb, "*")
                    && any_is(&self.api_groups, group, "*")
                    && self.resource_matches(resource, subresource)
                    && (self.resource_names.is_empty()
                        || self.resource_names.iter().any(|n| &**n == name))
            }
            Request::NonResource { verb, path } => {
                any_is(&self.verbs, verb, "*")
                    && self.non_resource_urls.iter().any(|url| {
                        &**url == "*"
                            || &**url == path
                            || (url.ends_with('*') && path.starts_with(url.trim_end_matches('*')))
                    })
            }
        }
    }

    fn resource_matches(&self, resource: &str, subresource: &str) -> bool {
        self.resources.iter().any(|r| {
            if &**r == "*" {
                return true;
            }
            if subresource.is_empty() {
                return &**r == resource;
            }
            // `resource/subresource`, compared without building the string.
            let combined = r
                .strip_prefix(resource)
                .and_then(|rest| rest.strip_prefix('/'))
                .is_some_and(|rest| rest == subresource);
            combined || r.strip_prefix("*/").is_some_and(|rest| rest == subresource)
        })
    }
}

/// The rules a role holds, shared by every binding that refers to it.
pub type Rules = Arc<[Rule]>;

/// Converts a role's rules.
pub fn rules_of(rules: Option<&Vec<PolicyRule>>) -> Rules {
    rules
        .map(|r| r.iter().map(Rule::from).collect())
        .unwrap_or_else(|| Arc::from(Vec::new()))
}

/// Which role a binding grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleRef {
    /// A Role in the binding's namespace.
    Role(Box<str>),
    /// A ClusterRole.
    ClusterRole(Box<str>),
    /// Any other kind: grants nothing.
    Unknown,
}

/// Whom a binding names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Subject {
    /// A user name, including a service account's full user name.
    User(Box<str>),
    /// A group.
    Group(Box<str>),
}

/// A binding reduced to what the authorizer reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    role: RoleRef,
    subjects: Box<[Subject]>,
}

impl Binding {
    /// A binding of `role` to `subjects` (`(kind, namespace, name)`), in `namespace` for
    /// a RoleBinding (`None` for a ClusterRoleBinding).
    pub fn new<'s>(
        namespace: Option<&str>,
        role_kind: &str,
        role_name: &str,
        subjects: impl IntoIterator<Item = (&'s str, Option<&'s str>, &'s str)>,
    ) -> Self {
        let role = match role_kind {
            "Role" => RoleRef::Role(role_name.into()),
            "ClusterRole" => RoleRef::ClusterRole(role_name.into()),
            _ => RoleRef::Unknown,
        };
        let subjects = subjects
            .into_iter()
            .filter_map(|(kind, sa_namespace, name)| match kind {
                "User" => Some(Subject::User(name.into())),
                "Group" => Some(Subject::Group(name.into())),
                "ServiceAccount" => {
                    // An empty namespace means the binding's own; a ClusterRoleBinding
                    // has none, so such a subject never applies there.
                    let ns = sa_namespace
                        .filter(|n| !n.is_empty())
                        .or(namespace)
                        .filter(|n| !n.is_empty())?;
                    Some(Subject::User(
                        format!("{SERVICE_ACCOUNT_PREFIX}{ns}:{name}").into(),
                    ))
                }
                _ => None,
            })
            .collect();
        Self { role, subjects }
    }

    /// The role this binding grants.
    pub fn role(&self) -> &RoleRef {
        &self.role
    }
}

impl From<&RoleBinding> for Binding {
    fn from(b: &RoleBinding) -> Self {
        let namespace = b.metadata.namespace.as_deref().unwrap_or_default();
        Self::new(
            Some(namespace),
            &b.role_ref.kind,
            &b.role_ref.name,
            b.subjects
                .iter()
                .flatten()
                .map(|s| (s.kind.as_str(), s.namespace.as_deref(), s.name.as_str())),
        )
    }
}

impl From<&ClusterRoleBinding> for Binding {
    fn from(b: &ClusterRoleBinding) -> Self {
        Self::new(
            None,
            &b.role_ref.kind,
            &b.role_ref.name,
            b.subjects
                .iter()
                .flatten()
                .map(|s| (s.kind.as_str(), s.namespace.as_deref(), s.name.as_str())),
        )
    }
}

/// Binding names by the user or group they name.
#[derive(Debug, Default, Clone)]
struct BySubject {
    users: HashMap<Box<str>, HashSet<Box<str>>>,
    groups: HashMap<Box<str>, HashSet<Box<str>>>,
}

impl BySubject {
    fn slot<'s>(
        &'s mut self,
        subject: &'s Subject,
    ) -> (&'s mut HashMap<Box<str>, HashSet<Box<str>>>, &'s str) {
        match subject {
            Subject::User(u) => (&mut self.users, u),
            Subject::Group(g) => (&mut self.groups, g),
        }
    }

    fn add(&mut self, binding: &str, subjects: &[Subject]) {
        for s in subjects {
            let (map, key) = self.slot(s);
            map.entry(key.into()).or_default().insert(binding.into());
        }
    }

    fn remove(&mut self, binding: &str, subjects: &[Subject]) {
        for s in subjects {
            let (map, key) = self.slot(s);
            if let Some(set) = map.get_mut(key) {
                set.remove(binding);
                if set.is_empty() {
                    map.remove(key);
                }
            }
        }
    }

    /// Bindings naming `user` or one of `groups` (a binding may come more than once).
    fn of<'a>(&'a self, user: &'a str, groups: &'a [&'a str]) -> impl Iterator<Item = &'a str> {
        let users = self.users.get(user).into_iter().flatten();
        let groups = groups.iter().filter_map(|g| self.groups.get(*g)).flatten();
        users.chain(groups).map(|b| &**b)
    }
}

/// Bindings and roles of one namespace.
#[derive(Debug, Default, Clone)]
struct Namespace {
    roles: HashMap<Box<str>, Rules>,
    bindings: HashMap<Box<str>, Binding>,
    by_subject: BySubject,
}

/// The binding that allowed a request, for logs and explanations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant<'a> {
    /// Which authorizer allowed it.
    pub via: Via<'a>,
}

/// What allowed a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via<'a> {
    /// Membership of [`PRIVILEGED_GROUP`].
    PrivilegedGroup,
    /// A ClusterRoleBinding.
    ClusterRoleBinding {
        /// The binding's name.
        binding: &'a str,
        /// The role it grants.
        role: &'a RoleRef,
    },
    /// A RoleBinding.
    RoleBinding {
        /// Its namespace.
        namespace: &'a str,
        /// The binding's name.
        binding: &'a str,
        /// The role it grants.
        role: &'a RoleRef,
    },
}

/// The RBAC objects of one cluster, indexed by subject.
#[derive(Debug, Default, Clone)]
pub struct RbacIndex {
    cluster_roles: HashMap<Box<str>, Rules>,
    cluster_bindings: HashMap<Box<str>, Binding>,
    cluster_by_subject: BySubject,
    namespaces: HashMap<Box<str>, Namespace>,
    /// Roles and RoleBindings over all namespaces, kept as they change: the mirror
    /// checks its bound on every watch event, which must not walk every namespace.
    roles: usize,
    role_bindings: usize,
}

/// How many objects of each kind an index holds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// ClusterRoles.
    pub cluster_roles: usize,
    /// ClusterRoleBindings.
    pub cluster_role_bindings: usize,
    /// Roles.
    pub roles: usize,
    /// RoleBindings.
    pub role_bindings: usize,
    /// Rules in ClusterRoles and Roles.
    pub rules: usize,
}

impl Counts {
    /// All objects.
    pub fn objects(&self) -> usize {
        self.cluster_roles + self.cluster_role_bindings + self.roles + self.role_bindings
    }
}

impl RbacIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a ClusterRole.
    pub fn put_cluster_role(&mut self, name: &str, rules: Rules) {
        self.cluster_roles.insert(name.into(), rules);
    }

    /// Removes a ClusterRole.
    pub fn remove_cluster_role(&mut self, name: &str) {
        self.cluster_roles.remove(name);
    }

    /// Adds or replaces a Role.
    pub fn put_role(&mut self, namespace: &str, name: &str, rules: Rules) {
        if self
            .namespace(namespace)
            .roles
            .insert(name.into(), rules)
            .is_none()
        {
            self.roles += 1;
        }
    }

    /// Removes a Role.
    pub fn remove_role(&mut self, namespace: &str, name: &str) {
        if let Some(ns) = self.namespaces.get_mut(namespace)
            && ns.roles.remove(name).is_some()
        {
            self.roles -= 1;
        }
        self.prune(namespace);
    }

    /// Adds or replaces a ClusterRoleBinding.
    pub fn put_cluster_binding(&mut self, name: &str, binding: Binding) {
        if let Some(old) = self.cluster_bindings.remove(name) {
            self.cluster_by_subject.remove(name, &old.subjects);
        }
        self.cluster_by_subject.add(name, &binding.subjects);
        self.cluster_bindings.insert(name.into(), binding);
    }

    /// Removes a ClusterRoleBinding.
    pub fn remove_cluster_binding(&mut self, name: &str) {
        if let Some(old) = self.cluster_bindings.remove(name) {
            self.cluster_by_subject.remove(name, &old.subjects);
        }
    }

    /// Adds or replaces a RoleBinding.
    pub fn put_binding(&mut self, namespace: &str, name: &str, binding: Binding) {
        let ns = self.namespace(namespace);
        let replaced = ns.bindings.remove(name).map(|old| {
            ns.by_subject.remove(name, &old.subjects);
        });
        ns.by_subject.add(name, &binding.subjects);
        ns.bindings.insert(name.into(), binding);
        if replaced.is_none() {
            self.role_bindings += 1;
        }
    }

    /// Removes a RoleBinding.
    pub fn remove_binding(&mut self, namespace: &str, name: &str) {
        if let Some(ns) = self.namespaces.get_mut(namespace)
            && let Some(old) = ns.bindings.remove(name)
        {
            ns.by_subject.remove(name, &old.subjects);
            self.role_bindings -= 1;
        }
        self.prune(namespace);
    }

    /// Adds or replaces a ClusterRole object.
    pub fn apply_cluster_role(&mut self, role: &ClusterRole) {
        if let Some(name) = role.metadata.name.as_deref() {
            self.put_cluster_role(name, rules_of(role.rules.as_ref()));
        }
    }

    /// Adds or replaces a Role object.
    pub fn apply_role(&mut self, role: &Role) {
        if let (Some(ns), Some(name)) = (
            role.metadata.namespace.as_deref(),
            role.metadata.name.as_deref(),
        ) {
            self.put_role(ns, name, rules_of(role.rules.as_ref()));
        }
    }

    /// Adds or replaces a ClusterRoleBinding object.
    pub fn apply_cluster_binding(&mut self, binding: &ClusterRoleBinding) {
        if let Some(name) = binding.metadata.name.as_deref() {
            self.put_cluster_binding(name, Binding::from(binding));
        }
    }

    /// Adds or replaces a RoleBinding object.
    pub fn apply_binding(&mut self, binding: &RoleBinding) {
        if let (Some(ns), Some(name)) = (
            binding.metadata.namespace.as_deref(),
            binding.metadata.name.as_deref(),
        ) {
            self.put_binding(ns, name, Binding::from(binding));
        }
    }

    /// Drops every ClusterRole (before a re-list puts the current ones back).
    pub fn clear_cluster_roles(&mut self) {
        self.cluster_roles.clear();
    }

    /// Drops every ClusterRoleBinding.
    pub fn clear_cluster_bindings(&mut self) {
        self.cluster_bindings.clear();
        self.cluster_by_subject = BySubject::default();
    }

    /// Drops every Role.
    pub fn clear_roles(&mut self) {
        for ns in self.namespaces.values_mut() {
            ns.roles.clear();
        }
        self.roles = 0;
        self.namespaces
            .retain(|_, ns| !(ns.roles.is_empty() && ns.bindings.is_empty()));
    }

    /// Drops every RoleBinding.
    pub fn clear_bindings(&mut self) {
        for ns in self.namespaces.values_mut() {
            ns.bindings.clear();
            ns.by_subject = BySubject::default();
        }
        self.role_bindings = 0;
        self.namespaces
            .retain(|_, ns| !(ns.roles.is_empty() && ns.bindings.is_empty()));
    }

    fn namespace(&mut self, namespace: &str) -> &mut Namespace {
        self.namespaces.entry(namespace.into()).or_default()
    }

    fn prune(&mut self, namespace: &str) {
        if self
            .namespaces
            .get(namespace)
            .is_some_and(|ns| ns.roles.is_empty() && ns.bindings.is_empty())
        {
            self.namespaces.remove(namespace);
        }
    }

    /// How many objects the index holds, without walking it (unlike [`Self::counts`]).
    pub fn objects(&self) -> usize {
        self.cluster_roles.len() + self.cluster_bindings.len() + self.roles + self.role_bindings
    }

    /// How many objects (and rules) of each kind the index holds; walks every namespace.
    pub fn counts(&self) -> Counts {
        let rules = self.cluster_roles.values().map(|r| r.len()).sum::<usize>()
            + self
                .namespaces
                .values()
                .flat_map(|ns| ns.roles.values())
                .map(|r| r.len())
                .sum::<usize>();
        Counts {
            cluster_roles: self.cluster_roles.len(),
            cluster_role_bindings: self.cluster_bindings.len(),
            roles: self.namespaces.values().map(|ns| ns.roles.len()).sum(),
            role_bindings: self.namespaces.values().map(|ns| ns.bindings.len()).sum(),
            rules,
        }
    }

    fn rules<'s>(&'s self, namespace: Option<&'s Namespace>, role: &RoleRef) -> Option<&'s Rules> {
        match role {
            RoleRef::ClusterRole(name) => self.cluster_roles.get(name),
            RoleRef::Role(name) => namespace.and_then(|ns| ns.roles.get(name)),
            RoleRef::Unknown => None,
        }
    }

    /// Would the cluster allow `request` to `user` with `groups`? The first grant found,
    /// or `None` for "RBAC does not allow it".
    pub fn find<'a>(
        &'a self,
        user: &'a str,
        groups: &'a [&'a str],
        request: &Request<'_>,
    ) -> Option<Grant<'a>> {
        if groups.contains(&PRIVILEGED_GROUP) {
            return Some(Grant {
                via: Via::PrivilegedGroup,
            });
        }
        let allows =
            |rules: Option<&Rules>| rules.is_some_and(|r| r.iter().any(|r| r.allows(request)));
        for name in self.cluster_by_subject.of(user, groups) {
            if let Some((binding, b)) = self.cluster_bindings.get_key_value(name)
                && allows(self.rules(None, &b.role))
            {
                return Some(Grant {
                    via: Via::ClusterRoleBinding {
                        binding,
                        role: &b.role,
                    },
                });
            }
        }
        let Request::Resource { namespace, .. } = *request else {
            return None;
        };
        if namespace.is_empty() {
            return None;
        }
        let (ns_name, ns) = self.namespaces.get_key_value(namespace)?;
        for name in ns.by_subject.of(user, groups) {
            if let Some((binding, b)) = ns.bindings.get_key_value(name)
                && allows(self.rules(Some(ns), &b.role))
            {
                return Some(Grant {
                    via: Via::RoleBinding {
                        namespace: ns_name,
                        binding,
                        role: &b.role,
                    },
                });
            }
        }
        None
    }

    /// Would the cluster allow `request` to `user` with `groups`?
    pub fn allows(&self, user: &str, groups: &[&str], request: &Request<'_>) -> bool {
        self.find(user, groups, request).is_some()
    }
}

#[cfg(test)]
mod tests;
