//! Evaluation of a parsed template with Go's semantics, within a [`Budget`].
//!
//! Output is a [`Text`]: author text is clean, and every value keeps the taint it
//! carries, so the output stage can keep untrusted input out of the YAML structure.

use super::Budget;
use super::ast::{Arg, Branch, Cmd, Node, Operand, Pipe};
use super::builtins::go_type;
use super::funcs::{FuncEnv, FuncSpec};
use super::parse::Tree;
use super::value::{Text, Value};

/// Most evaluation steps (actions, commands, arguments) in one execution: with the
/// other budgets this keeps a render linear in what it produces.
pub(crate) const MAX_STEPS: usize = 2_000_000;

/// Deepest nesting of evaluation (control structures, template calls and parenthesised
/// pipelines together): keeps the recursion within a 2 MiB thread stack.
pub(crate) const MAX_EVAL_DEPTH: usize = 150;

/// An execution error at a byte offset of the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExecError {
    pub(crate) at: usize,
    pub(crate) message: String,
}

type Result<T> = std::result::Result<T, ExecError>;

fn err<T>(at: usize, message: impl Into<String>) -> Result<T> {
    Err(ExecError {
        at,
        message: message.into(),
    })
}

static NIL: Value = Value::Nil;

/// How a list of nodes finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Normal,
    Break,
    Continue,
}

/// Runs `tree` with `data` as `.` and `$`.
pub(crate) fn execute(tree: &Tree, data: &Value, env: FuncEnv, budget: Budget) -> Result<Text> {
    let mut st = State {
        tree,
        out: Text::default(),
        vars: vec![("$".to_owned(), data.clone())],
        budget,
        iterations: 0,
        steps: 0,
        depth: 0,
        nesting: 0,
        env,
    };
    st.walk(data, &tree.root)?;
    Ok(st.out)
}

struct State<'a> {
    tree: &'a Tree,
    out: Text,
    /// Variables in scope, innermost last.
    vars: Vec<(String, Value)>,
    budget: Budget,
    iterations: usize,
    steps: usize,
    /// Current `template` call depth.
    depth: usize,
    /// Current evaluation nesting (see [`MAX_EVAL_DEPTH`]).
    nesting: usize,
    env: FuncEnv,
}

impl<'a> State<'a> {
    fn step(&mut self, at: usize) -> Result<()> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return err(
                at,
                format!("evaluation budget exceeded: more than {MAX_STEPS} steps"),
            );
        }
        Ok(())
    }

    /// Runs `f` one evaluation level deeper.
    fn nested<T>(&mut self, at: usize, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.nesting >= MAX_EVAL_DEPTH {
            return err(
                at,
                format!("evaluation nested more than {MAX_EVAL_DEPTH} levels deep"),
            );
        }
        self.nesting += 1;
        let result = f(self);
        self.nesting -= 1;
        result
    }

    fn write(&mut self, text: &Text, at: usize) -> Result<()> {
        if self.out.len() + text.len() > self.budget.max_output {
            return err(
                at,
                format!(
                    "output budget exceeded: more than {} bytes",
                    self.budget.max_output
                ),
            );
        }
        self.out.push_text(text);
        Ok(())
    }

    fn walk(&mut self, dot: &Value, nodes: &[Node]) -> Result<Flow> {
        for node in nodes {
            let flow = match node {
                Node::Text(at, s) => {
                    self.write(&Text::clean(s.as_str()), *at)?;
                    Flow::Normal
                }
                Node::Action(pipe) => {
                    self.step(pipe.at)?;
                    let v = self.pipeline(dot, pipe)?;
                    if pipe.decl.is_empty() {
                        self.write(&v.to_text(), pipe.at)?;
                    }
                    Flow::Normal
                }
                Node::If(b) => self.nested(b.pipe.at, |st| st.if_or_with(dot, b, false))?,
                Node::With(b) => self.nested(b.pipe.at, |st| st.if_or_with(dot, b, true))?,
                Node::Range(b) => self.nested(b.pipe.at, |st| st.range(dot, b))?,
                Node::Template { at, name, pipe } => {
                    self.nested(*at, |st| st.template(dot, *at, name, pipe.as_ref()))?;
                    Flow::Normal
                }
                Node::Break(at) => {
                    self.step(*at)?;
                    Flow::Break
                }
                Node::Continue(at) => {
                    self.step(*at)?;
                    Flow::Continue
                }
            };
            if flow != Flow::Normal {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    fn if_or_with(&mut self, dot: &Value, b: &Branch, with: bool) -> Result<Flow> {
        self.step(b.pipe.at)?;
        let mark = self.vars.len();
        let val = self.pipeline(dot, &b.pipe)?;
        let flow = if val.is_true() {
            self.walk(if with { &val } else { dot }, &b.list)?
        } else if let Some(list) = &b.else_list {
            self.walk(dot, list)?
        } else {
            Flow::Normal
        };
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn range(&mut self, dot: &Value, b: &Branch) -> Result<Flow> {
        self.step(b.pipe.at)?;
        let mark = self.vars.len();
        let val = self.pipeline(dot, &b.pipe)?;
        let top = self.vars.len();
        let mut ran = false;
        match &val {
            Value::List(items) => {
                for (i, elem) in items.iter().enumerate() {
                    ran = true;
                    let index = Value::Int(i64::try_from(i).unwrap_or(i64::MAX));
                    if self.iteration(b, index, elem, top)? == Flow::Break {
                        break;
                    }
                }
            }
            Value::Map(m) => {
                for (k, elem) in m {
                    ran = true;
                    // Keys carry no taint of their own: treat them as untrusted.
                    let key = Value::Str(Text::tainted(k.as_str()));
                    if self.iteration(b, key, elem, top)? == Flow::Break {
                        break;
                    }
                }
            }
            Value::Int(n) => {
                if b.pipe.decl.len() > 1 {
                    return err(
                        b.pipe.at,
                        format!("can't use {n} to iterate over more than one variable"),
                    );
                }
                for i in 0..*n {
                    ran = true;
                    if self.iteration(b, Value::Int(i), &Value::Int(i), top)? == Flow::Break {
                        break;
                    }
                }
            }
            Value::Nil => {}
            other => {
                return err(
                    b.pipe.at,
                    format!("range can't iterate over {}", other.to_go_string()),
                );
            }
        }
        if !ran && let Some(list) = &b.else_list {
            self.walk(dot, list)?;
        }
        self.vars.truncate(mark);
        Ok(Flow::Normal)
    }

    fn iteration(&mut self, b: &Branch, index: Value, elem: &Value, top: usize) -> Result<Flow> {
        self.iterations += 1;
        if self.iterations > self.budget.max_range_iterations {
            return err(
                b.pipe.at,
                format!(
                    "range budget exceeded: more than {} iterations",
                    self.budget.max_range_iterations
                ),
            );
        }
        let decl = &b.pipe.decl;
        match (decl.len(), b.pipe.assign) {
            (1, false) => self.set_top(top, 1, elem.clone()),
            (2, false) => {
                self.set_top(top, 2, index);
                self.set_top(top, 1, elem.clone());
            }
            (1, true) => self.set_var(b.pipe.at, &decl[0], elem.clone())?,
            (2, true) => {
                self.set_var(b.pipe.at, &decl[0], index)?;
                self.set_var(b.pipe.at, &decl[1], elem.clone())?;
            }
            _ => {}
        }
        let flow = self.walk(elem, &b.list)?;
        self.vars.truncate(top);
        Ok(flow)
    }

    /// Sets the variable `back` places below `top` (the range's declared variables).
    fn set_top(&mut self, top: usize, back: usize, v: Value) {
        if let Some(slot) = top.checked_sub(back).and_then(|i| self.vars.get_mut(i)) {
            slot.1 = v;
        }
    }

    fn set_var(&mut self, at: usize, name: &str, v: Value) -> Result<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            Some(slot) => {
                slot.1 = v;
                Ok(())
            }
            None => err(at, format!("undefined variable: {name}")),
        }
    }

    fn var(&self, at: usize, name: &str) -> Result<&Value> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v),
            None => err(at, format!("undefined variable: {name}")),
        }
    }

    fn template(&mut self, dot: &Value, at: usize, name: &str, pipe: Option<&Pipe>) -> Result<()> {
        if self.depth >= self.budget.max_depth {
            return err(
                at,
                format!(
                    "template nesting budget exceeded: more than {} levels",
                    self.budget.max_depth
                ),
            );
        }
        let tree: &'a Tree = self.tree;
        let Some(body) = tree.defines.get(name) else {
            return err(at, format!("no such template {name:?}"));
        };
        let data = match pipe {
            Some(p) => self.pipeline(dot, p)?,
            None => Value::Nil,
        };
        let saved = std::mem::replace(&mut self.vars, vec![("$".to_owned(), data.clone())]);
        self.depth += 1;
        let result = self.walk(&data, body);
        self.depth -= 1;
        self.vars = saved;
        result.map(|_| ())
    }

    fn pipeline(&mut self, dot: &Value, pipe: &Pipe) -> Result<Value> {
        let mut value = None;
        for cmd in &pipe.cmds {
            value = Some(self.command(dot, cmd, value.take())?);
        }
        let value = value.unwrap_or_default();
        for name in &pipe.decl {
            if pipe.assign {
                self.set_var(pipe.at, name, value.clone())?;
            } else {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn command(&mut self, dot: &Value, cmd: &Cmd, last: Option<Value>) -> Result<Value> {
        self.step(cmd.at)?;
        let Some((first, rest)) = cmd.args.split_first() else {
            return err(cmd.at, "empty command");
        };
        let has_args = !rest.is_empty() || last.is_some();
        match &first.op {
            Operand::Func(spec) => self.call(dot, spec, first.at, rest, last),
            Operand::Field(chain) => fields(dot, chain, first.at, has_args),
            Operand::Var(name, chain) if !chain.is_empty() => {
                let v = self.var(first.at, name)?;
                fields(v, chain, first.at, has_args)
            }
            Operand::Chain(pipe, chain) if !chain.is_empty() => {
                let v = self.nested(pipe.at, |st| st.pipeline(dot, pipe))?;
                fields(&v, chain, first.at, has_args)
            }
            Operand::Nil => err(first.at, "nil is not a command"),
            op => {
                if has_args {
                    return err(
                        first.at,
                        format!("can't give argument to non-function {op}"),
                    );
                }
                self.arg(dot, first)
            }
        }
    }

    fn call(
        &mut self,
        dot: &Value,
        spec: &FuncSpec,
        at: usize,
        args: &[Arg],
        last: Option<Value>,
    ) -> Result<Value> {
        if matches!(spec.name, "and" | "or") {
            // Go evaluates these lazily: the first deciding value is the result.
            let and = spec.name == "and";
            let mut result = Value::Nil;
            for arg in args {
                result = self.arg(dot, arg)?;
                if result.is_true() != and {
                    return Ok(result);
                }
            }
            return Ok(last.unwrap_or(result));
        }
        let mut vals = Vec::with_capacity(args.len() + 1);
        for arg in args {
            vals.push(self.arg(dot, arg)?);
        }
        vals.extend(last);
        (spec.func)(&vals, &self.env).map_err(|e| ExecError {
            at,
            message: format!("error calling {}: {e}", spec.name),
        })
    }

    fn arg(&mut self, dot: &Value, arg: &Arg) -> Result<Value> {
        self.step(arg.at)?;
        Ok(match &arg.op {
            Operand::Dot => dot.clone(),
            Operand::Nil => Value::Nil,
            Operand::Bool(b) => Value::Bool(*b),
            Operand::Int(i) => Value::Int(*i),
            Operand::Float(f) => Value::Float(*f),
            Operand::Str(s) => Value::str(s.as_str()),
            Operand::Field(chain) => fields(dot, chain, arg.at, false)?,
            Operand::Var(name, chain) => {
                let v = self.var(arg.at, name)?;
                fields(v, chain, arg.at, false)?
            }
            Operand::Func(spec) => self.call(dot, spec, arg.at, &[], None)?,
            Operand::Chain(pipe, chain) => {
                let v = self.nested(pipe.at, |st| st.pipeline(dot, pipe))?;
                fields(&v, chain, arg.at, false)?
            }
        })
    }
}

/// Field access as Go does it on `map[string]interface{}` data: a missing key (or a
/// field of a missing value) is nil; a field of anything else is an error.
fn fields(receiver: &Value, chain: &[String], at: usize, has_args: bool) -> Result<Value> {
    let mut cur = receiver;
    for (i, name) in chain.iter().enumerate() {
        cur = match cur {
            Value::Map(m) => {
                if has_args && i + 1 == chain.len() {
                    return err(at, format!("{name} is not a method but has arguments"));
                }
                m.get(name).unwrap_or(&NIL)
            }
            Value::Nil => return Ok(Value::Nil),
            other => {
                return err(
                    at,
                    format!("can't evaluate field {name} in type {}", go_type(other)),
                );
            }
        };
    }
    Ok(cur.clone())
}
