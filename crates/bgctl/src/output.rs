//! Output formats shared by every command.

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns.
    Table,
    /// Aligned columns with more of them.
    Wide,
    /// JSON, exactly the API's shape.
    Json,
    /// YAML of the same.
    Yaml,
}
