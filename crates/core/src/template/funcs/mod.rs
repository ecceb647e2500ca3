//! The function library: a documented Sprig-compatible set plus the reference's
//! extras (`truncName`, `k8sName`, `parseQuantity`, `formatQuantity`, `required`,
//! `indent`, `nindent`, `yamlQuote`, `yamlSafe`). Go's builtins (`and`, `or`, `not`,
//! `len`, `index`, `slice`, `print*`, comparisons, `html`, `js`, `urlquery`) are part
//! of the engine.
//!
//! Deliberately absent: anything that reads the server's environment or network
//! (`env`, `expandenv`, `getHostByName`), randomness (`rand*`, `uuidv4`, `shuffle`),
//! which would make a render unrepeatable, and key generation (`genPrivateKey`,
//! `genCA`, `genSelfSignedCert`, …), which would put key material into manifests.
//! `docs/template-functions.md` documents every function.
//!
//! Taint rule: a function that merely computes a string returns [`Text::derived`](super::value::Text::derived)
//! (tainted as a whole when any input is). A function that wraps its input in YAML or
//! JSON syntax (`quote`, `squote`, `yamlQuote`, `toJson`, `toYaml`, `indent`, …) writes
//! the syntax (and the escapes of special characters) as clean text and the rest of
//! the input with its taint, so the syntax it adds still shapes the document while the
//! input stays a scalar.

use super::value::Value;

mod args;
mod casing;
mod dates;
mod dicts;
mod encoding;
mod extras;
mod flow;
mod golayout;
mod k8s;
mod lists;
mod math;
mod regexp;
mod semver;
mod serialize;
mod strings;
mod syntax;

#[cfg(test)]
mod tests;

pub use args::{MAX_ITEMS, MAX_STRING};

/// What a function may read besides its arguments.
#[derive(Debug, Clone, Copy)]
pub struct FuncEnv {
    /// The render's clock (core reads no clock).
    pub now: jiff::Timestamp,
}

/// A function error; the engine adds the template position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FuncError(pub String);

impl FuncError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// A library function.
pub type Func = fn(&[Value], &FuncEnv) -> Result<Value, FuncError>;

/// A function and the argument counts it accepts (checked when a template is parsed).
#[derive(Debug, Clone, Copy)]
pub struct FuncSpec {
    /// Name in templates.
    pub name: &'static str,
    /// The implementation.
    pub func: Func,
    /// Fewest arguments.
    pub min_args: usize,
    /// Most arguments (`None`: variadic).
    pub max_args: Option<usize>,
}

impl FuncSpec {
    /// A function taking `min_args` to `max_args` arguments (`None`: any number more).
    pub const fn new(
        name: &'static str,
        func: Func,
        min_args: usize,
        max_args: Option<usize>,
    ) -> Self {
        Self {
            name,
            func,
            min_args,
            max_args,
        }
    }
}

const fn spec(name: &'static str, func: Func, min: usize, max: Option<usize>) -> FuncSpec {
    FuncSpec::new(name, func, min, max)
}

/// The table, sorted by name (byte order) so `lookup` can search it.
static LIBRARY: &[FuncSpec] = &[
    spec("abbrev", casing::abbrev, 2, Some(2)),
    spec("add", math::add, 0, None),
    spec("add1", math::add1, 1, Some(1)),
    spec("add1f", math::add1f, 1, Some(1)),
    spec("addf", math::addf, 0, None),
    spec("adler32sum", encoding::adler32sum, 1, Some(1)),
    spec("ago", dates::ago, 1, Some(1)),
    spec("append", lists::append, 2, Some(2)),
    spec("atoi", math::atoi, 1, Some(1)),
    spec("b32dec", encoding::b32dec, 1, Some(1)),
    spec("b32enc", encoding::b32enc, 1, Some(1)),
    spec("b64dec", encoding::b64dec, 1, Some(1)),
    spec("b64enc", encoding::b64enc, 1, Some(1)),
    spec("base", extras::base, 1, Some(1)),
    spec("biggest", math::max, 1, None),
    spec("camelcase", casing::camelcase, 1, Some(1)),
    spec("cat", strings::cat, 0, None),
    spec("ceil", math::ceil, 1, Some(1)),
    spec("chunk", extras::chunk, 2, Some(2)),
    spec("clean", extras::clean, 1, Some(1)),
    spec("coalesce", flow::coalesce, 0, None),
    spec("compact", lists::compact, 1, Some(1)),
    spec("concat", lists::concat, 0, None),
    spec("contains", strings::contains, 2, Some(2)),
    spec("date", dates::date, 2, Some(2)),
    spec("dateInZone", dates::date_in_zone, 3, Some(3)),
    spec("dateModify", dates::date_modify, 2, Some(2)),
    spec("date_in_zone", dates::date_in_zone, 3, Some(3)),
    spec("date_modify", dates::date_modify, 2, Some(2)),
    spec("deepCopy", extras::deep_copy, 1, Some(1)),
    spec("deepEqual", extras::deep_equal, 2, Some(2)),
    spec("default", flow::default, 1, None),
    spec("dict", dicts::dict, 0, None),
    spec("dig", dicts::dig, 3, None),
    spec("dir", extras::dir, 1, Some(1)),
    spec("div", math::div, 2, Some(2)),
    spec("divf", math::divf, 1, None),
    spec("duration", dates::duration, 1, Some(1)),
    spec("durationRound", dates::duration_round, 1, Some(1)),
    spec("empty", flow::empty, 1, Some(1)),
    spec("ext", extras::ext, 1, Some(1)),
    spec("fail", flow::fail, 1, Some(1)),
    spec("first", lists::first, 1, Some(1)),
    spec("float64", math::float64, 1, Some(1)),
    spec("floor", math::floor, 1, Some(1)),
    spec("formatQuantity", k8s::format_quantity, 1, Some(1)),
    spec("fromJson", serialize::from_json, 1, Some(1)),
    spec("fromYaml", serialize::from_yaml, 1, Some(1)),
    spec("get", dicts::get, 2, Some(2)),
    spec("has", lists::has, 2, Some(2)),
    spec("hasKey", dicts::has_key, 2, Some(2)),
    spec("hasPrefix", strings::has_prefix, 2, Some(2)),
    spec("hasSuffix", strings::has_suffix, 2, Some(2)),
    spec("htmlDate", dates::html_date, 1, Some(1)),
    spec("htmlDateInZone", dates::html_date_in_zone, 2, Some(2)),
    spec("indent", syntax::indent, 2, Some(2)),
    spec("initial", lists::initial, 1, Some(1)),
    spec("initials", casing::initials, 1, Some(1)),
    spec("int", math::int, 1, Some(1)),
    spec("int64", math::int, 1, Some(1)),
    spec("isAbs", extras::is_abs, 1, Some(1)),
    spec("join", strings::join, 2, Some(2)),
    spec("k8sName", k8s::k8s_name, 1, Some(1)),
    spec("kebabcase", casing::kebabcase, 1, Some(1)),
    spec("keys", dicts::keys, 0, None),
    spec("kindIs", extras::kind_is, 2, Some(2)),
    spec("kindOf", extras::kind_of, 1, Some(1)),
    spec("last", lists::last, 1, Some(1)),
    spec("list", lists::list, 0, None),
    spec("lower", strings::lower, 1, Some(1)),
    spec("max", math::max, 1, None),
    spec("maxf", math::maxf, 1, None),
    spec("merge", dicts::merge, 1, None),
    spec("mergeOverwrite", dicts::merge_overwrite, 1, None),
    spec("min", math::min, 1, None),
    spec("minf", math::minf, 1, None),
    spec("mod", math::modulo, 2, Some(2)),
    spec("mul", math::mul, 1, None),
    spec("mulf", math::mulf, 1, None),
    spec("mustAppend", lists::append, 2, Some(2)),
    spec("mustChunk", extras::chunk, 2, Some(2)),
    spec("mustCompact", lists::compact, 1, Some(1)),
    spec("mustDateModify", dates::date_modify, 2, Some(2)),
    spec("mustDeepCopy", extras::deep_copy, 1, Some(1)),
    spec("mustFirst", lists::first, 1, Some(1)),
    spec("mustFromJson", serialize::from_json, 1, Some(1)),
    spec("mustHas", lists::has, 2, Some(2)),
    spec("mustInitial", lists::initial, 1, Some(1)),
    spec("mustLast", lists::last, 1, Some(1)),
    spec("mustMerge", dicts::merge, 1, None),
    spec("mustMergeOverwrite", dicts::merge_overwrite, 1, None),
    spec("mustPrepend", lists::prepend, 2, Some(2)),
    spec("mustPush", lists::append, 2, Some(2)),
    spec("mustRegexFind", regexp::regex_find, 2, Some(2)),
    spec("mustRegexFindAll", regexp::regex_find_all, 3, Some(3)),
    spec("mustRegexMatch", regexp::regex_match, 2, Some(2)),
    spec("mustRegexReplaceAll", regexp::regex_replace_all, 3, Some(3)),
    spec(
        "mustRegexReplaceAllLiteral",
        regexp::regex_replace_all_literal,
        3,
        Some(3),
    ),
    spec("mustRegexSplit", regexp::regex_split, 3, Some(3)),
    spec("mustRest", lists::rest, 1, Some(1)),
    spec("mustReverse", lists::reverse, 1, Some(1)),
    spec("mustToDate", dates::to_date, 2, Some(2)),
    spec("mustToJson", serialize::to_json, 1, Some(1)),
    spec("mustToPrettyJson", serialize::to_pretty_json, 1, Some(1)),
    spec("mustToRawJson", serialize::to_raw_json, 1, Some(1)),
    spec("mustUniq", lists::uniq, 1, Some(1)),
    spec("mustWithout", lists::without, 1, None),
    spec("nindent", syntax::nindent, 2, Some(2)),
    spec("nospace", strings::nospace, 1, Some(1)),
    spec("now", dates::now, 0, Some(0)),
    spec("omit", dicts::omit, 1, None),
    spec("parseQuantity", k8s::parse_quantity, 1, Some(1)),
    spec("pick", dicts::pick, 1, None),
    spec("pluck", dicts::pluck, 1, None),
    spec("plural", strings::plural, 3, Some(3)),
    spec("prepend", lists::prepend, 2, Some(2)),
    spec("push", lists::append, 2, Some(2)),
    spec("quote", syntax::quote, 0, None),
    spec("regexFind", regexp::regex_find, 2, Some(2)),
    spec("regexFindAll", regexp::regex_find_all, 3, Some(3)),
    spec("regexMatch", regexp::regex_match, 2, Some(2)),
    spec("regexQuoteMeta", regexp::regex_quote_meta, 1, Some(1)),
    spec("regexReplaceAll", regexp::regex_replace_all, 3, Some(3)),
    spec(
        "regexReplaceAllLiteral",
        regexp::regex_replace_all_literal,
        3,
        Some(3),
    ),
    spec("regexSplit", regexp::regex_split, 3, Some(3)),
    spec("repeat", strings::repeat, 2, Some(2)),
    spec("replace", strings::replace, 3, Some(3)),
    spec("required", flow::required, 2, Some(2)),
    spec("rest", lists::rest, 1, Some(1)),
    spec("reverse", lists::reverse, 1, Some(1)),
    spec("round", math::round, 2, None),
    spec("semver", semver::semver, 1, Some(1)),
    spec("semverCompare", semver::semver_compare, 2, Some(2)),
    spec("seq", lists::seq, 0, None),
    spec("set", dicts::set, 3, Some(3)),
    spec("sha1sum", encoding::sha1sum, 1, Some(1)),
    spec("sha256sum", encoding::sha256sum, 1, Some(1)),
    spec("snakecase", casing::snakecase, 1, Some(1)),
    spec("sortAlpha", strings::sort_alpha, 1, Some(1)),
    spec("split", strings::split, 2, Some(2)),
    spec("splitList", strings::split_list, 2, Some(2)),
    spec("splitn", strings::splitn, 3, Some(3)),
    spec("squote", syntax::squote, 0, None),
    spec("sub", math::sub, 2, Some(2)),
    spec("subf", math::subf, 1, None),
    spec("substr", strings::substr, 3, Some(3)),
    spec("swapcase", casing::swapcase, 1, Some(1)),
    spec("ternary", flow::ternary, 3, Some(3)),
    spec("title", casing::title, 1, Some(1)),
    spec("toDate", dates::to_date, 2, Some(2)),
    spec("toDecimal", extras::to_decimal, 1, Some(1)),
    spec("toJson", serialize::to_json, 1, Some(1)),
    spec("toPrettyJson", serialize::to_pretty_json, 1, Some(1)),
    spec("toRawJson", serialize::to_raw_json, 1, Some(1)),
    spec("toString", strings::to_string, 1, Some(1)),
    spec("toStrings", strings::to_strings, 1, Some(1)),
    spec("toYaml", serialize::to_yaml, 1, Some(1)),
    spec("trim", strings::trim, 1, Some(1)),
    spec("trimAll", strings::trim_all, 2, Some(2)),
    spec("trimPrefix", strings::trim_prefix, 2, Some(2)),
    spec("trimSuffix", strings::trim_suffix, 2, Some(2)),
    spec("trimall", strings::trim_all, 2, Some(2)),
    spec("trunc", strings::trunc, 2, Some(2)),
    spec("truncName", k8s::trunc_name, 2, Some(2)),
    spec("tuple", lists::list, 0, None),
    spec("typeIs", extras::type_is, 2, Some(2)),
    spec("typeOf", extras::type_of, 1, Some(1)),
    spec("uniq", lists::uniq, 1, Some(1)),
    spec("unixEpoch", dates::unix_epoch, 1, Some(1)),
    spec("unset", dicts::unset, 2, Some(2)),
    spec("until", lists::until, 1, Some(1)),
    spec("untilStep", lists::until_step, 3, Some(3)),
    spec("untitle", casing::untitle, 1, Some(1)),
    spec("upper", strings::upper, 1, Some(1)),
    spec("values", dicts::values, 1, Some(1)),
    spec("without", lists::without, 1, None),
    spec("wrap", casing::wrap, 2, Some(2)),
    spec("wrapWith", casing::wrap_with, 3, Some(3)),
    spec("yamlQuote", syntax::yaml_quote, 1, Some(1)),
    spec("yamlSafe", syntax::yaml_safe, 1, Some(1)),
];

/// Every library function, sorted by name.
pub fn library() -> &'static [FuncSpec] {
    LIBRARY
}

/// The library function called `name`.
pub fn lookup(name: &str) -> Option<&'static FuncSpec> {
    let lib = library();
    lib.binary_search_by(|f| f.name.cmp(name))
        .ok()
        .and_then(|i| lib.get(i))
}
