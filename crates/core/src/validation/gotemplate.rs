//! Admission check of Go `text/template` sources with the engine's own parser.
//!
//! A template that the engine would refuse at deploy time — malformed actions,
//! unbalanced blocks, unknown functions, wrong argument counts, undefined variables —
//! is refused when the resource is written instead, naming the line and column.

use crate::template::{Template, TemplateError};

/// Parses `source`; the error reads `line L, column C: message`.
pub(crate) fn check(source: &str) -> Result<(), String> {
    match Template::parse("template", source) {
        Ok(_) => Ok(()),
        Err(TemplateError::Parse { pos, message, .. }) => Err(format!("{pos}: {message}")),
        Err(other) => Err(other.to_string()),
    }
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
            "{{ .labels | toYaml | nindent 4 }}",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_malformed_templates_with_line_and_column() {
        for (bad, want) in [
            (
                "a\n{{ if .x }}b",
                "line 2, column 4: unexpected EOF: {{if}} has no matching {{end}}",
            ),
            ("a{{end}}b", "line 1, column 4: unexpected {{end}}"),
            ("{{ else }}", "line 1, column 4: unexpected {{else}}"),
            ("x\ny\n{{ .a ", "line 3, column 1: unclosed action"),
            (
                "{{ break }}",
                "line 1, column 4: {{break}} outside {{range}}",
            ),
            (
                "a: {{ .x | nosuch }}",
                "line 1, column 12: function \"nosuch\" not defined",
            ),
            (
                "a: {{ trunc 3 }}",
                "line 1, column 7: wrong number of args for trunc: want 2 got 1",
            ),
            ("{{ $x }}", "line 1, column 4: undefined variable \"$x\""),
        ] {
            assert_eq!(check(bad), Err(want.to_owned()), "{bad}");
        }
    }
}
