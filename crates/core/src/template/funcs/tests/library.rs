//! The table itself: sorted, complete, nothing dangerous, and no function panics on
//! any argument shape.

use super::*;
use crate::template::funcs::library;

#[test]
fn table_is_sorted_unique_and_found_by_lookup() {
    let lib = library();
    for pair in lib.windows(2) {
        assert!(
            pair[0].name < pair[1].name,
            "{} before {}",
            pair[0].name,
            pair[1].name
        );
    }
    for f in lib {
        assert_eq!(lookup(f.name).map(|x| x.name), Some(f.name));
        assert!(f.max_args.is_none_or(|m| m >= f.min_args), "{}", f.name);
    }
    assert!(lookup("nope").is_none());
}

#[test]
fn the_documented_set_is_present() {
    let names = "trim trimAll trimPrefix trimSuffix upper lower title untitle repeat substr \
        nospace trunc abbrev initials contains hasPrefix hasSuffix quote squote cat indent \
        nindent replace plural snakecase camelcase kebabcase swapcase wrap wrapWith splitList \
        split splitn join sortAlpha toString toStrings default empty coalesce ternary fail \
        required list first rest last initial append push prepend concat reverse uniq \
        without has compact until untilStep seq dict get set unset hasKey pluck keys values \
        pick omit merge mergeOverwrite dig add add1 sub mul div mod max min floor ceil round \
        int int64 float64 atoi b64enc b64dec b32enc b32dec sha1sum sha256sum adler32sum \
        toJson toPrettyJson toRawJson fromJson toYaml fromYaml regexMatch regexFind \
        regexFindAll regexReplaceAll regexReplaceAllLiteral regexSplit regexQuoteMeta now \
        date dateInZone htmlDate htmlDateInZone toDate unixEpoch dateModify duration \
        durationRound ago truncName k8sName yamlQuote yamlSafe parseQuantity formatQuantity";
    for name in names.split_whitespace() {
        assert!(lookup(name).is_some(), "{name} is missing");
    }
}

#[test]
fn must_variants_and_old_names_are_aliases() {
    for (alias, name) in [
        ("mustToJson", "toJson"),
        ("mustRegexReplaceAll", "regexReplaceAll"),
        ("mustMergeOverwrite", "mergeOverwrite"),
        ("mustFirst", "first"),
        ("mustToDate", "toDate"),
        ("trimall", "trimAll"),
        ("tuple", "list"),
        ("biggest", "max"),
        ("date_in_zone", "dateInZone"),
        ("date_modify", "dateModify"),
    ] {
        let (a, n) = (lookup(alias).unwrap(), lookup(name).unwrap());
        assert!(std::ptr::fn_addr_eq(a.func, n.func), "{alias}");
        assert_eq!(
            (a.min_args, a.max_args),
            (n.min_args, n.max_args),
            "{alias}"
        );
    }
}

#[test]
fn server_reading_random_and_key_functions_are_absent() {
    for name in [
        "env",
        "expandenv",
        "getHostByName",
        "rand",
        "randAlpha",
        "randAlphaNum",
        "randAscii",
        "randNumeric",
        "randInt",
        "randBytes",
        "uuidv4",
        "shuffle",
        "genPrivateKey",
        "genCA",
        "genSelfSignedCert",
        "genSignedCert",
        "derivePassword",
        "encryptAES",
        "decryptAES",
    ] {
        assert!(lookup(name).is_none(), "{name} must not be offered");
    }
}

/// Every function with every combination of argument shapes its arity allows (up to
/// three arguments): an answer or an error, never a panic.
#[test]
fn no_function_panics_on_any_argument_shape() {
    let samples = [
        Value::Nil,
        Value::Bool(true),
        i(-1),
        i(3),
        Value::Float(2.5),
        Value::Float(f64::NAN),
        s(""),
        t("a\"b: c\n- d"),
        s("2024-03-05T14:07:09Z"),
        strs(&["x", ""]),
        m(&[("k", s("v")), ("n", m(&[("x", i(1))]))]),
    ];
    for f in library() {
        let most = f.max_args.unwrap_or(f.min_args + 2).min(3);
        for n in f.min_args..=most.max(f.min_args) {
            let mut idx = vec![0usize; n];
            loop {
                let a: Vec<Value> = idx.iter().map(|&k| samples[k].clone()).collect();
                let _ = (f.func)(&a, &env());
                let mut pos = 0;
                while pos < n {
                    idx[pos] += 1;
                    if idx[pos] < samples.len() {
                        break;
                    }
                    idx[pos] = 0;
                    pos += 1;
                }
                if pos == n {
                    break;
                }
            }
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// Arbitrary text (any Unicode, layouts, versions, patterns) in every string
    /// position of every function: an answer or an error, never a panic.
    #[test]
    fn no_function_panics_on_arbitrary_text(
        a in "\\PC{0,24}",
        b in "[0-9a-zA-Z_ .:+\\-/*^~<>=|,\"'\\\\\n]{0,24}",
        n in -3i64..40,
    ) {
        let shapes = [s(&a), t(&b), i(n), s(&b)];
        for f in library() {
            let count = f.min_args.clamp(1, 3);
            for first in &shapes {
                for second in &shapes {
                    let args: Vec<Value> = [first.clone(), second.clone(), s(&a)]
                        .into_iter()
                        .take(count)
                        .collect();
                    if args.len() >= f.min_args {
                        let _ = (f.func)(&args, &env());
                    }
                }
            }
        }
    }
}
