//! A sentence of a validation message with holes, written once and said in two places: the
//! webhook fills it in Rust ([`Wording::fill`]), the CRDs' CEL rules build it as a
//! `messageExpression` ([`Wording::cel`]). Both quote values the same way ([`quote`], which is
//! CEL's `strings.quote`), so the API server's message and the webhook's are the same words.
//!
//! Holes: `{}` takes a value as written, `{:?}` takes it quoted.

use std::fmt::{self, Display};

/// A message template; see the module documentation for its holes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wording(pub &'static str);

/// One piece of a template: literal text, or a hole (quoted or not).
enum Piece<'a> {
    Text(&'a str),
    Hole { quoted: bool },
}

impl Wording {
    fn pieces(self) -> Vec<Piece<'static>> {
        let mut pieces = Vec::new();
        let mut rest = self.0;
        loop {
            let plain = rest.find("{}").map(|i| (i, 2, false));
            let quoted = rest.find("{:?}").map(|i| (i, 4, true));
            let next = match (plain, quoted) {
                (Some(p), Some(q)) => Some(if p.0 < q.0 { p } else { q }),
                (p, q) => p.or(q),
            };
            let Some((at, len, quoted)) = next else {
                if !rest.is_empty() {
                    pieces.push(Piece::Text(rest));
                }
                return pieces;
            };
            if at > 0 {
                pieces.push(Piece::Text(&rest[..at]));
            }
            pieces.push(Piece::Hole { quoted });
            rest = &rest[at + len..];
        }
    }

    /// How many values the template takes.
    pub fn holes(self) -> usize {
        self.pieces()
            .iter()
            .filter(|p| matches!(p, Piece::Hole { .. }))
            .count()
    }

    /// The sentence with `values` in its holes, in order.
    ///
    /// # Panics
    /// When the number of values is not the number of holes: a defect the unit tests catch.
    pub fn fill(self, values: &[&dyn Display]) -> String {
        assert_eq!(values.len(), self.holes(), "values for {:?}", self.0);
        let mut values = values.iter();
        let mut out = String::new();
        for piece in self.pieces() {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Hole { quoted } => {
                    let value = values.next().expect("counted above").to_string();
                    if quoted {
                        out.push_str(&quote(&value));
                    } else {
                        out.push_str(&value);
                    }
                }
            }
        }
        out
    }

    /// The sentence as a CEL string expression, with the CEL string expressions `args` in its
    /// holes (a `{:?}` hole wraps its argument in `strings.quote`).
    ///
    /// The sentence is one `format` call rather than a concatenation: the API server estimates
    /// the cost of `+` from the sizes of its operands, and the size of a converted value
    /// (`string(ip(...))`, `string(1)`) is unknown to it, so a concatenation would exceed the
    /// cost budget where `format` does not.
    ///
    /// # Panics
    /// When the number of arguments is not the number of holes.
    pub fn cel(self, args: &[&str]) -> String {
        assert_eq!(args.len(), self.holes(), "CEL arguments for {:?}", self.0);
        if args.is_empty() {
            return cel_string(self.0);
        }
        let mut template = String::new();
        let mut values = Vec::new();
        let mut args = args.iter();
        for piece in self.pieces() {
            match piece {
                Piece::Text(text) => template.push_str(&text.replace('%', "%%")),
                Piece::Hole { quoted } => {
                    template.push_str("%s");
                    let arg = args.next().expect("counted above");
                    values.push(if quoted {
                        format!("strings.quote({arg})")
                    } else {
                        format!("({arg})")
                    });
                }
            }
        }
        format!("{}.format([{}])", cel_string(&template), values.join(", "))
    }

    /// The sentence with each hole shown as `…`: the static `message` the API server prints if
    /// the messageExpression itself cannot be evaluated.
    pub fn summary(self) -> String {
        self.pieces()
            .into_iter()
            .map(|piece| match piece {
                Piece::Text(text) => text,
                Piece::Hole { .. } => "…",
            })
            .collect()
    }
}

impl Display for Wording {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// `text` in double quotes with `\a \b \f \n \r \t \v \\ \"` escaped and everything else kept,
/// exactly as CEL's `strings.quote` writes it.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A list of strings as `["a", "b"]`, each quoted by [`quote`].
pub fn quote_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| quote(i)).collect();
    format!("[{}]", quoted.join(", "))
}

/// The CEL expression giving what [`quote_list`] gives for the CEL list of strings `list`:
/// `format` prints a list of strings quoted, between brackets, separated by `, `.
pub fn cel_quote_list(list: &str) -> String {
    format!("'%s'.format([{list}])")
}

/// `text` as a CEL string literal.
pub fn cel_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: Wording = Wording("operator {:?} on key {:?} takes no values, got {}");

    #[test]
    fn fill_puts_values_in_order_and_quotes_the_quoted_holes() {
        let values = quote_list(&["a".into(), "b\"c".into()]);
        assert_eq!(
            SAMPLE.fill(&[&"Exists", &"zone", &values]),
            r#"operator "Exists" on key "zone" takes no values, got ["a", "b\"c"]"#
        );
    }

    #[test]
    fn cel_builds_the_same_sentence_from_cel_expressions() {
        assert_eq!(
            SAMPLE.cel(&["self.operator", "self.key", "'[]'"]),
            "'operator %s on key %s takes no values, got %s'.format([strings.quote(self.operator), \
             strings.quote(self.key), ('[]')])"
        );
        assert_eq!(Wording("100% {}").cel(&["x"]), "'100%% %s'.format([(x)])");
        assert_eq!(Wording("no hole").cel(&[]), "'no hole'");
    }

    #[test]
    fn quoting_escapes_what_cel_escapes_and_keeps_the_rest() {
        assert_eq!(quote("a\tb\\c\"d é"), r#""a\tb\\c\"d é""#);
        assert_eq!(cel_string("it's \\ 'x'"), r"'it\'s \\ \'x\''");
    }

    #[test]
    fn summary_marks_each_hole() {
        assert_eq!(
            SAMPLE.summary(),
            "operator … on key … takes no values, got …"
        );
    }

    #[test]
    #[should_panic(expected = "values for")]
    fn a_missing_value_is_a_defect() {
        SAMPLE.fill(&[&"In"]);
    }
}
