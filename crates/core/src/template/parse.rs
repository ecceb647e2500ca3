//! The parser: tokens to a tree, with Go's checks done early — unknown functions,
//! wrong argument counts, undefined variables, unbalanced blocks, `break` outside
//! `range`, and `template` calls naming no defined template.

use std::collections::BTreeMap;

use super::ast::{Arg, Branch, Cmd, Node, Operand, Pipe};
use super::funcs::FuncSpec;
use super::lex::{self, Keyword, Tok, Token};

/// Deepest nesting of control structures and parentheses (keeps recursion bounded).
pub(crate) const MAX_NESTING: usize = 100;

/// A parsed template: the main body and the `define`d ones.
#[derive(Debug, Clone)]
pub(crate) struct Tree {
    pub(crate) root: Vec<Node>,
    pub(crate) defines: BTreeMap<String, Vec<Node>>,
}

/// A parse error at a byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub(crate) at: usize,
    pub(crate) message: String,
}

/// Resolves a function name to its implementation and argument counts.
pub(crate) type Lookup<'a> = &'a dyn Fn(&str) -> Option<FuncSpec>;

type Result<T> = std::result::Result<T, ParseError>;

fn err<T>(at: usize, message: impl Into<String>) -> Result<T> {
    Err(ParseError {
        at,
        message: message.into(),
    })
}

/// Parses `src` (already bounded in size by the caller). `{{template}}` calls must name
/// a `define`d (or `block`) template: the main template's own name is not callable, so
/// a source means the same whatever name a caller gives it.
pub(crate) fn parse(src: &str, lookup: Lookup<'_>) -> Result<Tree> {
    let toks = lex::lex(src).map_err(|e| ParseError {
        at: e.at,
        message: e.message,
    })?;
    let mut p = Parser {
        toks,
        i: 0,
        lookup,
        vars: vec!["$".to_owned()],
        range_depth: 0,
        nesting: 0,
        defines: BTreeMap::new(),
        refs: Vec::new(),
    };
    let root = p.top()?;
    for (at, called) in &p.refs {
        if !p.defines.contains_key(called) {
            return err(*at, format!("no such template {called:?}"));
        }
    }
    Ok(Tree {
        root,
        defines: p.defines,
    })
}

/// How a list of nodes ended.
enum Term {
    End,
    Else(usize),
}

/// What one action turned out to be.
enum Item {
    Node(Node),
    /// Nothing to add (a `define`).
    Nothing,
    End(usize),
    Else(usize),
}

struct Parser<'a> {
    toks: Vec<Token>,
    i: usize,
    lookup: Lookup<'a>,
    /// Variables in scope, innermost last.
    vars: Vec<String>,
    range_depth: usize,
    nesting: usize,
    defines: BTreeMap<String, Vec<Node>>,
    /// Every `{{template "name"}}`, checked once all `define`s are known.
    refs: Vec<(usize, String)>,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        // The lexer always ends the list with Eof, and nothing reads past it.
        &self.toks[self.i.min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }

    fn skip_space(&mut self) {
        while self.peek().tok == Tok::Space {
            self.next();
        }
    }

    fn peek_non_space(&mut self) -> &Token {
        self.skip_space();
        self.peek()
    }

    fn next_non_space(&mut self) -> Token {
        self.skip_space();
        self.next()
    }

    fn expect_close(&mut self, context: &str) -> Result<()> {
        let t = self.next_non_space();
        if t.tok == Tok::Close {
            Ok(())
        } else {
            err(
                t.at,
                format!("unexpected {} in {context}", t.tok.describe()),
            )
        }
    }

    fn top(&mut self) -> Result<Vec<Node>> {
        let mut list = Vec::new();
        loop {
            let t = self.next();
            match t.tok {
                Tok::Eof => return Ok(list),
                Tok::Text(s) => list.push(Node::Text(t.at, s)),
                Tok::Open => match self.action(true)? {
                    Item::Node(n) => list.push(n),
                    Item::Nothing => {}
                    Item::End(at) => return err(at, "unexpected {{end}}"),
                    Item::Else(at) => return err(at, "unexpected {{else}}"),
                },
                other => return err(t.at, format!("unexpected {}", other.describe())),
            }
        }
    }

    /// Nodes up to the `{{end}}` or `{{else}}` closing the structure opened at `open_at`.
    fn item_list(&mut self, opener: &str, open_at: usize) -> Result<(Vec<Node>, Term)> {
        let mut list = Vec::new();
        loop {
            let t = self.next();
            match t.tok {
                Tok::Eof => {
                    return err(
                        open_at,
                        format!("unexpected EOF: {{{{{opener}}}}} has no matching {{{{end}}}}"),
                    );
                }
                Tok::Text(s) => list.push(Node::Text(t.at, s)),
                Tok::Open => match self.action(false)? {
                    Item::Node(n) => list.push(n),
                    Item::Nothing => {}
                    Item::End(_) => return Ok((list, Term::End)),
                    Item::Else(at) => return Ok((list, Term::Else(at))),
                },
                other => return err(t.at, format!("unexpected {}", other.describe())),
            }
        }
    }

    /// The action after `{{`.
    fn action(&mut self, top: bool) -> Result<Item> {
        let at = self.peek_non_space().at;
        let Tok::Keyword(kw) = self.peek().tok else {
            let pipe = self.pipeline("command", &Tok::Close)?;
            return Ok(Item::Node(Node::Action(pipe)));
        };
        self.next();
        match kw {
            Keyword::If | Keyword::With | Keyword::Range => self.control(kw, at).map(Item::Node),
            Keyword::Else => Ok(Item::Else(at)),
            Keyword::End => {
                self.expect_close("end")?;
                Ok(Item::End(at))
            }
            Keyword::Break | Keyword::Continue => {
                if self.range_depth == 0 {
                    return err(at, format!("{{{{{}}}}} outside {{{{range}}}}", kw.word()));
                }
                self.expect_close(kw.word())?;
                Ok(Item::Node(if kw == Keyword::Break {
                    Node::Break(at)
                } else {
                    Node::Continue(at)
                }))
            }
            Keyword::Template => self.template(at).map(Item::Node),
            Keyword::Block => self.block(at).map(Item::Node),
            Keyword::Define if top => {
                self.define()?;
                Ok(Item::Nothing)
            }
            Keyword::Define => err(at, "{{define}} is only allowed at the top level"),
        }
    }

    fn enter(&mut self, at: usize) -> Result<()> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return err(at, format!("nested more than {MAX_NESTING} levels deep"));
        }
        Ok(())
    }

    /// `if`, `with` or `range`, after the keyword.
    fn control(&mut self, kw: Keyword, at: usize) -> Result<Node> {
        self.enter(at)?;
        let saved = self.vars.len();
        let pipe = self.pipeline(kw.word(), &Tok::Close)?;
        if kw == Keyword::Range {
            self.range_depth += 1;
        }
        let (list, term) = self.item_list(kw.word(), at)?;
        if kw == Keyword::Range {
            self.range_depth -= 1;
        }
        let else_list = match term {
            Term::End => None,
            Term::Else(_) => Some(self.else_branch(kw, at)?),
        };
        self.vars.truncate(saved);
        self.nesting -= 1;
        let branch = Branch {
            pipe,
            list,
            else_list,
        };
        Ok(match kw {
            Keyword::If => Node::If(branch),
            Keyword::With => Node::With(branch),
            _ => Node::Range(branch),
        })
    }

    /// The body after `{{else`: `else if`/`else with` chain, or a plain else list.
    fn else_branch(&mut self, kw: Keyword, at: usize) -> Result<Vec<Node>> {
        let t = self.peek_non_space().clone();
        if let Tok::Keyword(next) = t.tok
            && next == kw
            && matches!(kw, Keyword::If | Keyword::With)
        {
            self.next();
            // The nested structure consumes the single {{end}} of the chain.
            return Ok(vec![self.control(kw, t.at)?]);
        }
        self.expect_close("else")?;
        let (list, term) = self.item_list(kw.word(), at)?;
        if let Term::Else(else_at) = term {
            return err(else_at, "expected end; found {{else}}");
        }
        Ok(list)
    }

    fn template_name(&mut self, context: &str) -> Result<String> {
        let t = self.next_non_space();
        match t.tok {
            Tok::Str(name) => Ok(name),
            other => err(
                t.at,
                format!("unexpected {} in {context}", other.describe()),
            ),
        }
    }

    fn template(&mut self, at: usize) -> Result<Node> {
        let name = self.template_name("template clause")?;
        let pipe = if self.peek_non_space().tok == Tok::Close {
            self.next();
            None
        } else {
            Some(self.pipeline("template clause", &Tok::Close)?)
        };
        self.refs.push((at, name.clone()));
        Ok(Node::Template { at, name, pipe })
    }

    /// `{{block "name" pipeline}}…{{end}}`: a define plus a call to it.
    fn block(&mut self, at: usize) -> Result<Node> {
        let name = self.template_name("block clause")?;
        let pipe = self.pipeline("block clause", &Tok::Close)?;
        let body = self.definition_body("block", at)?;
        self.add_define(at, &name, body)?;
        self.refs.push((at, name.clone()));
        Ok(Node::Template {
            at,
            name,
            pipe: Some(pipe),
        })
    }

    fn define(&mut self) -> Result<()> {
        let at = self.peek_non_space().at;
        let name = self.template_name("define clause")?;
        self.expect_close("define clause")?;
        let body = self.definition_body("define", at)?;
        self.add_define(at, &name, body)
    }

    /// A body with its own variable scope (only `$`), as Go parses definitions.
    fn definition_body(&mut self, opener: &str, at: usize) -> Result<Vec<Node>> {
        self.enter(at)?;
        let vars = std::mem::replace(&mut self.vars, vec!["$".to_owned()]);
        let range_depth = std::mem::take(&mut self.range_depth);
        let (list, term) = self.item_list(opener, at)?;
        if let Term::Else(else_at) = term {
            return err(else_at, "unexpected {{else}}");
        }
        self.vars = vars;
        self.range_depth = range_depth;
        self.nesting -= 1;
        Ok(list)
    }

    fn add_define(&mut self, at: usize, name: &str, body: Vec<Node>) -> Result<()> {
        match self.defines.get(name) {
            Some(old) if !is_empty(old) && !is_empty(&body) => {
                err(at, format!("multiple definition of template {name:?}"))
            }
            Some(old) if is_empty(&body) && !is_empty(old) => Ok(()),
            _ => {
                self.defines.insert(name.to_owned(), body);
                Ok(())
            }
        }
    }

    /// A pipeline up to `end` (`}}` or `)`), which is consumed.
    fn pipeline(&mut self, context: &str, end: &Tok) -> Result<Pipe> {
        let at = self.peek_non_space().at;
        let (decl, assign) = self.declarations(context)?;
        let mut cmds = Vec::new();
        loop {
            let t = self.peek_non_space().clone();
            if &t.tok == end {
                self.next();
                break;
            }
            match t.tok {
                Tok::Bool(_)
                | Tok::Char(_)
                | Tok::Dot
                | Tok::Field(_)
                | Tok::Ident(_)
                | Tok::Number(_)
                | Tok::Nil
                | Tok::Str(_)
                | Tok::Var(_)
                | Tok::LParen => cmds.push(self.command()?),
                Tok::Pipe if !cmds.is_empty() => return err(t.at, "missing command after |"),
                other => {
                    return err(
                        t.at,
                        format!("unexpected {} in {context}", other.describe()),
                    );
                }
            }
        }
        if cmds.is_empty() {
            return err(at, format!("missing value for {context}"));
        }
        check_pipeline(&cmds)?;
        if !assign {
            self.vars.extend(decl.iter().cloned());
        }
        Ok(Pipe {
            at,
            decl,
            assign,
            cmds,
        })
    }

    /// `$x :=`, `$x =`, or in `range`, `$i, $v :=`.
    fn declarations(&mut self, context: &str) -> Result<(Vec<String>, bool)> {
        let start = self.i;
        let t = self.peek_non_space().clone();
        let Tok::Var(first) = t.tok else {
            return Ok((Vec::new(), false));
        };
        self.next();
        let mut decl = vec![(t.at, first)];
        let after = self.next_non_space();
        let op = match after.tok {
            Tok::Declare | Tok::Assign => after.tok,
            Tok::Comma if context == "range" => {
                let second = self.next_non_space();
                let Tok::Var(name) = second.tok else {
                    return err(second.at, "range can only initialize variables");
                };
                decl.push((second.at, name));
                let op = self.next_non_space();
                if !matches!(op.tok, Tok::Declare | Tok::Assign) {
                    return err(op.at, "range can only initialize variables");
                }
                op.tok
            }
            Tok::Comma => return err(after.at, format!("too many declarations in {context}")),
            _ => {
                self.i = start;
                return Ok((Vec::new(), false));
            }
        };
        let assign = op == Tok::Assign;
        if assign {
            for (at, name) in &decl {
                self.use_var(*at, name)?;
            }
        }
        Ok((decl.into_iter().map(|(_, n)| n).collect(), assign))
    }

    fn use_var(&self, at: usize, name: &str) -> Result<()> {
        if self.vars.iter().any(|v| v == name) {
            Ok(())
        } else {
            err(at, format!("undefined variable {name:?}"))
        }
    }

    /// Operands separated by spaces, up to `|` (consumed), `}}` or `)` (not consumed).
    fn command(&mut self) -> Result<Cmd> {
        let at = self.peek_non_space().at;
        let mut args = Vec::new();
        loop {
            self.skip_space();
            if let Some(arg) = self.operand()? {
                if !args.is_empty()
                    && let Operand::Func(spec) = &arg.op
                {
                    check_arity(spec, 0, arg.at)?;
                }
                args.push(arg);
            }
            let t = self.peek().clone();
            match t.tok {
                Tok::Space => {}
                Tok::Close | Tok::RParen => break,
                Tok::Pipe => {
                    self.next();
                    if matches!(self.peek_non_space().tok, Tok::Close | Tok::RParen) {
                        return err(t.at, "missing command after |");
                    }
                    break;
                }
                other => {
                    return err(t.at, format!("unexpected {} in operand", other.describe()));
                }
            }
        }
        if args.is_empty() {
            return err(at, "empty command");
        }
        Ok(Cmd { at, args })
    }

    /// A term and the fields that follow it directly (`$x.a`, `(…).b`).
    fn operand(&mut self) -> Result<Option<Arg>> {
        let Some(arg) = self.term()? else {
            return Ok(None);
        };
        let mut fields = Vec::new();
        while let Tok::Field(f) = &self.peek().tok {
            fields.push(f.clone());
            self.next();
        }
        if fields.is_empty() {
            return Ok(Some(arg));
        }
        let op = match arg.op {
            Operand::Field(mut chain) => {
                chain.extend(fields);
                Operand::Field(chain)
            }
            Operand::Var(name, mut chain) => {
                chain.extend(fields);
                Operand::Var(name, chain)
            }
            Operand::Chain(pipe, mut chain) => {
                chain.extend(fields);
                Operand::Chain(pipe, chain)
            }
            Operand::Func(spec) => {
                check_arity(&spec, 0, arg.at)?;
                let pipe = Pipe {
                    at: arg.at,
                    decl: Vec::new(),
                    assign: false,
                    cmds: vec![Cmd {
                        at: arg.at,
                        args: vec![Arg {
                            at: arg.at,
                            op: Operand::Func(spec),
                        }],
                    }],
                };
                Operand::Chain(Box::new(pipe), fields)
            }
            other => {
                return err(
                    arg.at,
                    format!("unexpected . after term {:?}", other.to_string()),
                );
            }
        };
        Ok(Some(Arg { at: arg.at, op }))
    }

    fn term(&mut self) -> Result<Option<Arg>> {
        let t = self.peek().clone();
        let op = match t.tok {
            Tok::Ident(name) => match (self.lookup)(&name) {
                Some(spec) => Operand::Func(spec),
                None => return err(t.at, format!("function {name:?} not defined")),
            },
            Tok::Dot => Operand::Dot,
            Tok::Nil => Operand::Nil,
            Tok::Var(name) => {
                self.use_var(t.at, &name)?;
                Operand::Var(name, Vec::new())
            }
            Tok::Field(name) => Operand::Field(vec![name]),
            Tok::Bool(b) => Operand::Bool(b),
            Tok::Char(c) => Operand::Int(i64::from(u32::from(c))),
            Tok::Number(n) => number(&n).map_err(|m| ParseError {
                at: t.at,
                message: m,
            })?,
            Tok::Str(s) => Operand::Str(s),
            Tok::LParen => {
                self.next();
                self.enter(t.at)?;
                let pipe = self.pipeline("parenthesized pipeline", &Tok::RParen)?;
                self.nesting -= 1;
                return Ok(Some(Arg {
                    at: t.at,
                    op: Operand::Chain(Box::new(pipe), Vec::new()),
                }));
            }
            _ => return Ok(None),
        };
        self.next();
        Ok(Some(Arg { at: t.at, op }))
    }
}

/// Go's pipeline checks plus our early arity check: later stages must be executable,
/// and a function's argument count includes the piped value.
fn check_pipeline(cmds: &[Cmd]) -> Result<()> {
    for (i, cmd) in cmds.iter().enumerate() {
        let Some(first) = cmd.args.first() else {
            continue;
        };
        match &first.op {
            Operand::Func(spec) => {
                check_arity(spec, cmd.args.len() - 1 + usize::from(i > 0), first.at)?;
            }
            Operand::Bool(_)
            | Operand::Dot
            | Operand::Nil
            | Operand::Int(_)
            | Operand::Float(_)
            | Operand::Str(_)
                if i > 0 =>
            {
                return err(
                    first.at,
                    format!("non executable command in pipeline stage {}", i + 1),
                );
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_arity(spec: &FuncSpec, got: usize, at: usize) -> Result<()> {
    let ok = got >= spec.min_args && spec.max_args.is_none_or(|m| got <= m);
    if ok {
        return Ok(());
    }
    let want = match spec.max_args {
        Some(max) if max == spec.min_args => max.to_string(),
        Some(max) => format!("{} to {max}", spec.min_args),
        None => format!("at least {}", spec.min_args),
    };
    err(
        at,
        format!(
            "wrong number of args for {}: want {want} got {got}",
            spec.name
        ),
    )
}

/// Go's "empty tree": only white space text.
fn is_empty(list: &[Node]) -> bool {
    list.iter()
        .all(|n| matches!(n, Node::Text(_, t) if t.trim().is_empty()))
}

/// Converts a number literal as Go's parser does for an untyped constant: an integer
/// unless it has a fraction or exponent.
fn number(text: &str) -> std::result::Result<Operand, String> {
    let bad = || format!("illegal number syntax: {text:?}");
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if body.starts_with('_') || body.ends_with('_') || body.contains("__") {
        return Err(bad());
    }
    let digits = body.replace('_', "");
    let lower = digits.to_ascii_lowercase();
    let (radix, mantissa) = if let Some(h) = lower.strip_prefix("0x") {
        if h.contains('p') || h.contains('.') {
            return Err(format!("hexadecimal floats are not supported: {text:?}"));
        }
        (16, h)
    } else if let Some(o) = lower.strip_prefix("0o") {
        (8, o)
    } else if let Some(b) = lower.strip_prefix("0b") {
        (2, b)
    } else if lower.contains(['.', 'e']) {
        let f: f64 = lower.parse().map_err(|_| bad())?;
        return Ok(Operand::Float(if neg { -f } else { f }));
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    let magnitude = u64::from_str_radix(mantissa, radix).map_err(|_| {
        if mantissa.chars().all(|c| c.is_digit(radix)) && !mantissa.is_empty() {
            format!("{text} overflows int")
        } else {
            bad()
        }
    })?;
    let value = if neg {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    };
    value
        .map(Operand::Int)
        .ok_or_else(|| format!("{text} overflows int"))
}
