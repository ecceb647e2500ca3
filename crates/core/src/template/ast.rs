//! The parsed form of a template. Offsets are byte offsets into the source; they
//! become line and column only when an error is reported.

use std::fmt;

use super::funcs::FuncSpec;

/// A node of a template body.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// Author text (and where it starts), written as is.
    Text(usize, String),
    /// `{{ pipeline }}`: the value is written unless the pipeline declares variables.
    Action(Pipe),
    /// `{{if}}`.
    If(Branch),
    /// `{{with}}`.
    With(Branch),
    /// `{{range}}`.
    Range(Branch),
    /// `{{template "name" pipeline}}` (also what `{{block}}` becomes).
    Template {
        at: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break(usize),
    Continue(usize),
}

/// A control structure: the pipeline, the body and the optional `else` body.
#[derive(Debug, Clone)]
pub(crate) struct Branch {
    pub(crate) pipe: Pipe,
    pub(crate) list: Vec<Node>,
    pub(crate) else_list: Option<Vec<Node>>,
}

/// A pipeline: optional variable declarations and commands joined by `|`.
#[derive(Debug, Clone)]
pub(crate) struct Pipe {
    pub(crate) at: usize,
    /// Declared or assigned variables (with `$`).
    pub(crate) decl: Vec<String>,
    /// `=` rather than `:=`.
    pub(crate) assign: bool,
    pub(crate) cmds: Vec<Cmd>,
}

/// A command: an operand, or a function and its arguments.
#[derive(Debug, Clone)]
pub(crate) struct Cmd {
    pub(crate) at: usize,
    pub(crate) args: Vec<Arg>,
}

/// An operand and where it is.
#[derive(Debug, Clone)]
pub(crate) struct Arg {
    pub(crate) at: usize,
    pub(crate) op: Operand,
}

/// What an operand is.
#[derive(Debug, Clone)]
pub(crate) enum Operand {
    Dot,
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// `.a.b`.
    Field(Vec<String>),
    /// `$x.a.b` (name with `$`, then the fields).
    Var(String, Vec<String>),
    /// A function, resolved when the template was parsed.
    Func(FuncSpec),
    /// `(pipeline).a.b` (fields may be empty).
    Chain(Box<Pipe>, Vec<String>),
}

fn write_fields(f: &mut fmt::Formatter<'_>, fields: &[String]) -> fmt::Result {
    for field in fields {
        write!(f, ".{field}")?;
    }
    Ok(())
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dot => f.write_str("."),
            Self::Nil => f.write_str("nil"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Int(i) => write!(f, "{i}"),
            Self::Float(x) => write!(f, "{}", super::value::format_float(*x)),
            Self::Str(s) => write!(f, "{s:?}"),
            Self::Field(fields) => write_fields(f, fields),
            Self::Var(name, fields) => {
                f.write_str(name)?;
                write_fields(f, fields)
            }
            Self::Func(spec) => f.write_str(spec.name),
            Self::Chain(pipe, fields) => {
                write!(f, "({pipe})")?;
                write_fields(f, fields)
            }
        }
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            write!(
                f,
                "{} {} ",
                self.decl.join(", "),
                if self.assign { "=" } else { ":=" }
            )?;
        }
        for (i, cmd) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            for (j, arg) in cmd.args.iter().enumerate() {
                if j > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{}", arg.op)?;
            }
        }
        Ok(())
    }
}
