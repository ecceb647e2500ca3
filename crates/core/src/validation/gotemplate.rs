//! A structural syntax check of Go `text/template` sources.
//!
//! Not a parser: it finds the actions, and checks that they are closed and that the
//! block keywords (`if`, `range`, `with`, `define`, `block` … `end`, `else`) nest. That
//! catches the malformed templates a lenient engine would render silently, at admission
//! time instead of when a session is deployed.

/// Checks the action structure of `source`; the error names the 1-based line.
pub(crate) fn check(source: &str) -> Result<(), String> {
    let mut stack: Vec<(&str, usize)> = Vec::new();
    let mut rest = source;
    let mut offset = 0;
    while let Some(open) = rest.find("{{") {
        let start = offset + open;
        let line = line_of(source, start);
        let body_start = open + 2;
        let Some(len) = action_len(&rest[body_start..]) else {
            return Err(format!("line {line}: unclosed action"));
        };
        let body = &rest[body_start..body_start + len];
        keyword(body, line, &mut stack)?;
        let consumed = body_start + len + 2;
        rest = &rest[consumed..];
        offset += consumed;
    }
    match stack.last() {
        Some((kw, line)) => Err(format!(
            "line {line}: {{{{{kw}}}}} has no matching {{{{end}}}}"
        )),
        None => Ok(()),
    }
}

fn line_of(source: &str, pos: usize) -> usize {
    source.get(..pos).map_or(0, |s| s.matches('\n').count()) + 1
}

/// Length of an action body up to (not including) its closing `}}`, skipping quoted
/// strings, raw strings, character literals and comments.
fn action_len(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'}' if bytes.get(i + 1) == Some(&b'}') => return Some(i),
            b'"' | b'\'' => {
                let quote = bytes[i];
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'`' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'`' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let end = s.get(i + 2..)?.find("*/")?;
                i += end + 3;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Applies the block keyword of one action body to the nesting stack.
fn keyword<'a>(
    body: &'a str,
    line: usize,
    stack: &mut Vec<(&'a str, usize)>,
) -> Result<(), String> {
    let trimmed = body.strip_prefix('-').unwrap_or(body);
    let trimmed = trimmed.strip_suffix('-').unwrap_or(trimmed).trim();
    if trimmed.starts_with("/*") {
        return Ok(());
    }
    let word = trimmed
        .split(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or_default();
    match word {
        "if" | "range" | "with" | "define" | "block" => stack.push((word, line)),
        "else" => match stack.last() {
            Some((kw, _)) if matches!(*kw, "if" | "range" | "with") => {}
            _ => return Err(format!("line {line}: unexpected {{{{else}}}}")),
        },
        "end" if stack.pop().is_none() => {
            return Err(format!("line {line}: unexpected {{{{end}}}}"));
        }
        "break" | "continue" if !stack.iter().any(|(kw, _)| *kw == "range") => {
            return Err(format!("line {line}: {{{{{word}}}}} outside {{{{range}}}}"));
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn accepts_well_formed_templates() {
        for ok in [
            "plain text",
            "{{ .session.name | trunc 15 }}",
            "{{- if eq .vars.x \"true\" }}a{{- else if .y }}b{{ else }}c{{- end }}",
            "{{ range $i, $c := .list }}{{ if $c }}{{ break }}{{ end }}{{ end }}",
            "{{/* a comment with }} inside */}}",
            "{{ printf \"%s}}\" .x }}",
            "{{ define \"x\" }}y{{ end }}{{ template \"x\" . }}",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_unbalanced_blocks_and_unclosed_actions() {
        assert_eq!(
            check("a\n{{ if .x }}b"),
            Err("line 2: {{if}} has no matching {{end}}".to_string())
        );
        assert_eq!(
            check("a{{end}}b"),
            Err("line 1: unexpected {{end}}".to_string())
        );
        assert_eq!(
            check("{{ else }}"),
            Err("line 1: unexpected {{else}}".to_string())
        );
        assert_eq!(
            check("x\ny\n{{ .a "),
            Err("line 3: unclosed action".to_string())
        );
        assert_eq!(
            check("{{ break }}"),
            Err("line 1: {{break}} outside {{range}}".to_string())
        );
    }
}
