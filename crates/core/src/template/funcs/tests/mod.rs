//! Tables of Sprig's outputs for every function, called through `lookup` so the table
//! and its arities are tested too, and renders through the engine for the functions
//! that produce syntax.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod collections;
mod extras;
mod formats;
mod library;
mod numbers;
mod render;
mod strings;

use std::collections::BTreeMap;

use super::args::deep_eq;
use super::{FuncEnv, FuncError, lookup};
use crate::template::value::Value;

/// The render clock of every table: 2024-03-05T14:07:09Z.
pub(super) fn env() -> FuncEnv {
    FuncEnv {
        now: "2024-03-05T14:07:09Z".parse().unwrap(),
    }
}

/// Calls `name` as the engine would, checking the arity against the table first.
pub(super) fn call(name: &str, args: &[Value]) -> Result<Value, FuncError> {
    let spec = lookup(name).unwrap_or_else(|| panic!("{name} is not in the library"));
    assert!(
        args.len() >= spec.min_args && spec.max_args.is_none_or(|m| args.len() <= m),
        "{name}: {} arguments outside its arity",
        args.len()
    );
    (spec.func)(args, &env())
}

pub(super) fn s(x: &str) -> Value {
    Value::str(x)
}

pub(super) fn t(x: &str) -> Value {
    Value::tainted_str(x)
}

pub(super) fn i(n: i64) -> Value {
    Value::Int(n)
}

pub(super) fn l(items: Vec<Value>) -> Value {
    Value::List(items)
}

pub(super) fn m(pairs: &[(&str, Value)]) -> Value {
    Value::Map(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect::<BTreeMap<_, _>>(),
    )
}

pub(super) fn strs(items: &[&str]) -> Value {
    l(items.iter().map(|x| s(x)).collect())
}

/// Checks `(function, arguments, expected)` rows; values compare as Go's DeepEqual.
pub(super) fn table(rows: &[(&str, Vec<Value>, Value)]) {
    for (name, args, want) in rows {
        match call(name, args) {
            Ok(got) => assert!(
                deep_eq(&got, want),
                "{name} {args:?}: got {got:?}, want {want:?}"
            ),
            Err(e) => panic!("{name} {args:?}: error {e}, want {want:?}"),
        }
    }
}

/// Checks `(function, arguments, expected error message)` rows.
pub(super) fn errors(rows: &[(&str, Vec<Value>, &str)]) {
    for (name, args, want) in rows {
        match call(name, args) {
            Ok(got) => panic!("{name} {args:?}: got {got:?}, want the error {want:?}"),
            Err(e) => assert_eq!(e.0, *want, "{name} {args:?}"),
        }
    }
}

/// Whether the string a call returns is tainted (as a whole or in part).
pub(super) fn tainted(name: &str, args: &[Value]) -> bool {
    call(name, args).unwrap().is_tainted()
}
