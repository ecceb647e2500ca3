//! `printf` against Go's `fmt` output.

use serde_json::json;

use super::render;

#[test]
fn verbs_flags_width_precision() {
    let cases: &[(&str, &str)] = &[
        (r#"{{ printf "%s|%v|%q" "a" "b" "c\"d" }}"#, r#"a|b|"c\"d""#),
        (
            r#"{{ printf "%d|%5d|%-5d|%05d|%+d|% d" 42 42 42 -42 42 42 }}"#,
            "42|   42|42   |-0042|+42| 42",
        ),
        (
            r#"{{ printf "%.3d|%x|%X|%#x|%o|%#o|%O|%b" 7 255 255 255 8 8 8 5 }}"#,
            "007|ff|FF|0xff|10|010|0o10|101",
        ),
        (r#"{{ printf "%c|%q|%U" 65 65 233 }}"#, "A|'A'|U+00E9"),
        (r#"{{ printf "%t|%v" true false }}"#, "true|false"),
        (
            r#"{{ printf "%f|%.2f|%8.3f|%-8.1f|" 3.14159 3.14159 3.14159 2.5 }}"#,
            "3.141590|3.14|   3.142|2.5     |",
        ),
        (
            r#"{{ printf "%e|%.2E|%g|%g|%g|%.3g" 1234.5678 1234.5678 0.00001 1e6 123456.0 3.14159 }}"#,
            "1.234568e+03|1.23E+03|1e-05|1e+06|123456|3.14",
        ),
        (r#"{{ printf "%v|%v" 1.5 100.0 }}"#, "1.5|100"),
        (
            r#"{{ printf "%x|%X|% x" "hi" "hi" "hi" }}"#,
            "6869|6869|6869",
        ),
        (
            r#"{{ printf "%5s|%-5s|%.2s|%05s" "ab" "ab" "abc" "ab" }}"#,
            "   ab|ab   |ab|000ab",
        ),
        (
            r#"{{ printf "%*d|%-*d|%.*f" 4 1 3 2 1 3.14159 }}"#,
            "   1|2  |3.1",
        ),
        (r#"{{ printf "%%|%d%%" 5 }}"#, "%|5%"),
        (
            r#"{{ printf "%v %v %v" .list .map nil }}"#,
            "[a b] map[k:v] <nil>",
        ),
        (r#"{{ printf "%d" "x" }}"#, "%!d(string=x)"),
        (r#"{{ printf "%s" 5 }}"#, "%!s(int=5)"),
        (r#"{{ printf "%s" nil }}"#, "%!s(<nil>)"),
        (r#"{{ printf "%f" 5 }}"#, "%!f(int=5)"),
        (r#"{{ printf "%d %d" 1 }}"#, "1 %!d(MISSING)"),
        (r#"{{ printf "%d" 1 2 "x" }}"#, "1%!(EXTRA int=2, string=x)"),
        (r#"{{ printf "abc%" }}"#, "abc%!(NOVERB)"),
        (r#"{{ printf "%z" 1 }}"#, "%!z(int=1)"),
        (r#"{{ printf "%#q" "a\"b" }}"#, "`a\"b`"),
        (r#"{{ printf "%q" "tab\there\n" }}"#, r#""tab\there\n""#),
        (
            r#"{{ printf "%T %T %T %T %T %T %T" 1 1.5 "s" true nil .list .map }}"#,
            "int float64 string bool <nil> []interface {} map[string]interface {}",
        ),
        (
            r#"{{ printf "%v" .mixed }}"#,
            "[map[a:1] [1 2] <nil> 1.5 true]",
        ),
        (
            r#"{{ printf "%.2v|%6.2f|%-6.2f|%+.1e" 3.14159 -2.5 2.5 12345.0 }}"#,
            "3.1| -2.50|2.50  |+1.2e+04",
        ),
    ];
    let data = json!({"list": ["a", "b"], "map": {"k": "v"}, "mixed": [{"a": 1}, [1, 2], null, 1.5, true]});
    for (src, want) in cases {
        assert_eq!(render(src, data.clone()), *want, "template {src}");
    }
}

#[test]
fn printf_output_is_bounded() {
    let src = format!(
        "{{{{ printf \"{}\" {} }}}}",
        "%999999d".repeat(3),
        "1 ".repeat(3)
    );
    let (_, message) = super::exec_err(&src, json!({}));
    assert_eq!(
        message,
        "error calling printf: result larger than 1048576 bytes"
    );
}

#[test]
fn printf_keeps_taint_per_argument() {
    let data = super::Value::from_json(&json!({"x": "u"}), true);
    let r = super::run_value(r#"{{ printf "%s=%d;%s" .x 5 "c" }}"#, &data).unwrap();
    assert_eq!(r.text().pieces(), vec![("u", true), ("=5;c", false)]);
}
