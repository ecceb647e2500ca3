//! Output formats shared by every command: aligned tables like kubectl's, or the API's
//! own JSON/YAML.
//!
//! `json` and `yaml` print the typed wire structs the server sent, so they round-trip
//! to the same value; `table` and `wide` print a stable column set per kind (the first
//! column is always the name). Colour is used only when stdout is a terminal and
//! `NO_COLOR` is unset, and only in tables.

use std::io::{IsTerminal as _, Write};

use anyhow::Context as _;
use serde::Serialize;

use crate::Global;

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

/// Rows of one kind, with its headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    /// Column headers (upper case, kubectl style).
    pub headers: Vec<&'static str>,
    /// Cells, one vector per row, as long as `headers`.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these headers and no rows yet.
    pub fn new(headers: &[&'static str]) -> Self {
        Self {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text: columns padded to their widest cell, separated by three
    /// spaces, trailing spaces trimmed; `colour` paints state-like cells.
    pub fn render(&self, headers: bool, colour: bool) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = if headers {
            self.headers.iter().map(|h| h.chars().count()).collect()
        } else {
            vec![0; columns]
        };
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let mut line = |cells: &mut dyn Iterator<Item = (usize, &str)>, paint: bool| {
            let mut text = String::new();
            for (i, cell) in cells {
                let width = widths.get(i).copied().unwrap_or(0);
                let pad = width.saturating_sub(cell.chars().count());
                let shown = if paint {
                    paint_state(cell)
                } else {
                    cell.to_owned()
                };
                text.push_str(&shown);
                if i + 1 < columns {
                    text.push_str(&" ".repeat(pad + 3));
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        if headers {
            line(&mut self.headers.iter().copied().enumerate(), false);
        }
        for row in &self.rows {
            line(&mut row.iter().map(String::as_str).enumerate(), colour);
        }
        out
    }
}

/// ANSI colour for cells that are states: green for granted, yellow for waiting, red
/// for refused or ended badly; anything else unchanged.
fn paint_state(cell: &str) -> String {
    let code = match cell {
        "Approved" | "Active" => "32",
        "Pending" | "PendingApproval" | "WaitingForScheduledTime" => "33",
        "Rejected" | "Failed" | "Timeout" | "ApprovalTimeout" => "31",
        _ => return cell.to_owned(),
    };
    format!("\u{1b}[{code}m{cell}\u{1b}[0m")
}

/// How this invocation prints: format, headers, colour.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    /// The format (`table` unless `-o` or `BGCTL_OUTPUT` says otherwise).
    pub format: Format,
    /// Print table headers.
    pub headers: bool,
    /// Colour table cells.
    pub colour: bool,
}

impl Printer {
    /// The printer the global flags ask for.
    pub fn new(global: &Global) -> Self {
        Self {
            format: global.output.unwrap_or(Format::Table),
            headers: !global.no_headers,
            colour: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    /// True for `-o wide`.
    pub fn wide(&self) -> bool {
        self.format == Format::Wide
    }

    /// Prints `value` as JSON or YAML, or the table `table(wide)` builds.
    pub fn print<T: Serialize + ?Sized>(
        &self,
        out: &mut dyn Write,
        value: &T,
        table: impl FnOnce(bool) -> Table,
    ) -> anyhow::Result<()> {
        let text = self.render(value, table)?;
        out.write_all(text.as_bytes())
            .context("writing the output")?;
        out.flush().context("writing the output")
    }

    /// What [`Printer::print`] writes.
    pub fn render<T: Serialize + ?Sized>(
        &self,
        value: &T,
        table: impl FnOnce(bool) -> Table,
    ) -> anyhow::Result<String> {
        Ok(match self.format {
            Format::Json => {
                let mut s = serde_json::to_string_pretty(value).context("encoding JSON")?;
                s.push('\n');
                s
            }
            Format::Yaml => serde_saphyr::to_string(&value).context("encoding YAML")?,
            Format::Table | Format::Wide => table(self.wide()).render(self.headers, self.colour),
        })
    }
}

/// A cell for an optional value: the value, or `-` (kubectl's `<none>` is harder to
/// read in narrow terminals).
pub fn cell(v: Option<&str>) -> String {
    match v {
        Some(s) if !s.is_empty() => s.to_owned(),
        _ => "-".to_owned(),
    }
}

/// How long ago (or until) a time is, kubectl style (`5m`, `3h`, `2d`); `-` when
/// absent. Future times are shown as `in 5m`.
pub fn age(t: Option<jiff::Timestamp>, now: jiff::Timestamp) -> String {
    let Some(t) = t else {
        return "-".to_owned();
    };
    let secs = now.duration_since(t).as_secs();
    let (future, secs) = if secs < 0 {
        (true, -secs)
    } else {
        (false, secs)
    };
    let text = if secs < 120 {
        format!("{secs}s")
    } else if secs < 2 * 3600 {
        format!("{}m", secs / 60)
    } else if secs < 2 * 86400 {
        format!("{}h", secs / 3600)
    } else {
        format!("{}d", secs / 86400)
    };
    if future { format!("in {text}") } else { text }
}

/// [`age`] of an RFC 3339 string (`-` when absent or unparsable).
pub fn age_of(rfc3339: Option<&str>, now: jiff::Timestamp) -> String {
    age(rfc3339.and_then(|s| s.parse().ok()), now)
}

/// A client error for people: with `verbose`, the server's request id and the finer
/// reason are added, for support.
pub fn client_error(e: breakglass_client::Error, verbose: bool) -> anyhow::Error {
    match &e {
        breakglass_client::Error::Api {
            reason, request_id, ..
        } if verbose => {
            let mut extra = Vec::new();
            if let Some(r) = reason {
                extra.push(format!("reason {r}"));
            }
            if let Some(id) = request_id {
                extra.push(format!("request id {id}"));
            }
            if extra.is_empty() {
                anyhow::Error::new(e)
            } else {
                let text = format!("{e} [{}]", extra.join(", "));
                anyhow::anyhow!(text)
            }
        }
        _ => anyhow::Error::new(e),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new(&["NAME", "STATE", "CLUSTER"]);
        t.row(vec!["a-long-name".into(), "Pending".into(), "c1".into()]);
        t.row(vec!["b".into(), "Approved".into(), "-".into()]);
        t
    }

    #[test]
    fn columns_align_to_the_widest_cell_and_headers_can_be_left_out() {
        assert_eq!(
            sample().render(true, false),
            "NAME          STATE      CLUSTER\na-long-name   Pending    c1\nb             Approved   -\n"
        );
        assert_eq!(
            sample().render(false, false),
            "a-long-name   Pending    c1\nb             Approved   -\n"
        );
    }

    #[test]
    fn colour_paints_states_only_and_keeps_the_alignment() {
        let text = sample().render(true, true);
        assert!(
            text.contains("\u{1b}[33mPending\u{1b}[0m    c1"),
            "{text:?}"
        );
        assert!(text.contains("\u{1b}[32mApproved\u{1b}[0m   -"), "{text:?}");
        assert!(text.starts_with("NAME          STATE"), "{text:?}");
        assert!(!text.contains("\u{1b}[33mNAME"));
    }

    #[test]
    fn json_and_yaml_carry_the_same_value() {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct V {
            name: &'static str,
            active_only: bool,
            items: Vec<u32>,
        }
        let v = V {
            name: "x",
            active_only: true,
            items: vec![1, 2],
        };
        let json = Printer {
            format: Format::Json,
            headers: true,
            colour: true,
        };
        let yaml = Printer {
            format: Format::Yaml,
            ..json
        };
        let j: serde_json::Value =
            serde_json::from_str(&json.render(&v, |_| Table::default()).unwrap()).unwrap();
        let y: serde_json::Value =
            serde_saphyr::from_str(&yaml.render(&v, |_| Table::default()).unwrap()).unwrap();
        assert_eq!(j, y);
        assert_eq!(j["activeOnly"], true);
    }

    #[test]
    fn wide_is_passed_to_the_table_builder() {
        let p = Printer {
            format: Format::Wide,
            headers: false,
            colour: false,
        };
        let text = p
            .render(&(), |wide| {
                let mut t = Table::new(&["A"]);
                t.row(vec![wide.to_string()]);
                t
            })
            .unwrap();
        assert_eq!(text, "true\n");
    }

    #[test]
    fn ages_read_like_kubectl() {
        let now: jiff::Timestamp = "2026-01-01T12:00:00Z".parse().unwrap();
        assert_eq!(age_of(Some("2026-01-01T11:59:30Z"), now), "30s");
        assert_eq!(age_of(Some("2026-01-01T11:00:00Z"), now), "60m");
        assert_eq!(age_of(Some("2026-01-01T06:00:00Z"), now), "6h");
        assert_eq!(age_of(Some("2025-12-29T12:00:00Z"), now), "3d");
        assert_eq!(age_of(Some("2026-01-01T12:10:00Z"), now), "in 10m");
        assert_eq!(age(None, now), "-");
        assert_eq!(age_of(Some("garbage"), now), "-");
    }
}
