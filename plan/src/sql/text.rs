//! The query's text: where messages point (line and column in it), sqlparser's
//! messages reworded, and what is read before sqlparser (Flink's `TABLE t` arguments,
//! `CREATE TABLE .. WATERMARK`).

use super::*;

/// Where messages about the query point: its literal, with the line and column in its
/// text (a literal's inside has no span of its own on stable Rust).
pub(super) struct Query {
    pub(super) span: Span,
}

impl Query {
    pub(super) fn error(&self, errors: &mut Errors, at: impl Located, message: &str) -> Reported {
        let start = at.location().start;
        if start.line == 0 {
            errors.report(self.span, message)
        } else {
            let (line, column) = (start.line, start.column);
            errors.report(
                self.span,
                format!("{message} (at {line}:{column} of the query)"),
            )
        }
    }
}

/// The query as sqlparser reads it: Flink's `TABLE t` arguments of window functions
/// (`TUMBLE(TABLE t, ..)`), which sqlparser has no syntax for, as `t` padded to the same
/// width, so positions in messages stay those of the query; `SESSION`'s `TABLE t
/// PARTITION BY k` becomes `t,PARTITION_BY(k)`. Quoted text is left alone.
pub(super) fn prepare(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let keyword_at = |i: usize, keyword: &str| {
        let n = keyword.chars().count();
        i + n <= chars.len()
            && chars[i..i + n]
                .iter()
                .copied()
                .map(|c| c.to_ascii_uppercase())
                .eq(keyword.chars())
            && (i == 0 || !word(chars[i - 1]))
            && chars.get(i + n).is_none_or(|c| !word(*c))
    };
    let skip_space = |mut i: usize| {
        while chars.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        i
    };
    let mut out = String::with_capacity(text.len() + 2);
    let mut quote: Option<char> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            out.push(c);
            if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        if matches!(c, '\'' | '"' | '`') {
            quote = Some(c);
            out.push(c);
            i += 1;
            continue;
        }
        let after = skip_space(i + 5);
        let names_a_table = chars.get(after).is_some_and(|c| word(*c) || *c == '`');
        if keyword_at(i, "TABLE") && after > i + 5 && names_a_table {
            out.push_str("     ");
            i += 5;
            // The name, as it is.
            while i < chars.len() && (chars[i].is_whitespace() || i < after) {
                out.push(chars[i]);
                i += 1;
            }
            if chars.get(i) == Some(&'`') {
                out.push('`');
                i += 1;
                while i < chars.len() && chars[i] != '`' {
                    out.push(chars[i]);
                    i += 1;
                }
            }
            while i < chars.len() && (word(chars[i]) || chars[i] == '`') {
                out.push(chars[i]);
                i += 1;
            }
            let partition = skip_space(i);
            let by = skip_space(partition + 9);
            if keyword_at(partition, "PARTITION") && keyword_at(by, "BY") {
                out.push_str(",PARTITION_BY(");
                i = by + 2;
                // The columns, to the next `,` or `)` outside parentheses.
                let mut depth = 0;
                while let Some(&c) = chars.get(i) {
                    match c {
                        '(' => depth += 1,
                        ')' if depth == 0 => break,
                        ')' => depth -= 1,
                        ',' if depth == 0 => break,
                        _ => {}
                    }
                    out.push(c);
                    i += 1;
                }
                out.push(')');
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// sqlparser's message as ours: `SQL syntax: expected .., found .. (at 4:14 of the
/// query)`.
pub(super) fn syntax_error(message: &str) -> String {
    let message = message
        .strip_prefix("sql parser error: ")
        .unwrap_or(message);
    let (what, place) = match message.rsplit_once(" at Line: ") {
        Some((what, place)) => match place.split_once(", Column: ") {
            Some((line, column)) => (what, format!(" (at {line}:{column} of the query)")),
            None => (message, String::new()),
        },
        None => (message, String::new()),
    };
    let what = what
        .replace("Expected: ", "expected ")
        .replace(", found: ", ", found ")
        .replace("found EOF", "found the end of the query");
    format!("SQL syntax: {what}{place}")
}

/// Names as a message lists them: `a`, `b` and `c`.
pub(super) fn list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// What has a place in the query's text.
pub(super) trait Located {
    fn location(&self) -> sqlparser::tokenizer::Span;
}

impl<T: Spanned> Located for &T {
    fn location(&self) -> sqlparser::tokenizer::Span {
        self.span()
    }
}

impl Located for sqlparser::tokenizer::Span {
    fn location(&self) -> sqlparser::tokenizer::Span {
        *self
    }
}

/// A `CREATE TABLE` of the query: the stream it names and its watermark.
pub(super) struct TableDecl {
    pub(super) name: String,
    /// `WATERMARK FOR column AS column - INTERVAL 'n' UNIT`: the column and `n` in ms.
    pub(super) watermark: Option<(String, u64)>,
    /// Where the declaration is, for messages.
    pub(super) at: sqlparser::tokenizer::Span,
}

/// The line and column of the char at `offset` of `text`, as sqlparser counts them.
pub(super) fn location(text: &str, offset: usize) -> sqlparser::tokenizer::Span {
    let (mut line, mut column) = (1u64, 1u64);
    for c in text.chars().take(offset) {
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    let at = sqlparser::tokenizer::Location::new(line, column);
    sqlparser::tokenizer::Span::new(at, at)
}

/// The `CREATE TABLE name (.., WATERMARK FOR ts AS ts - INTERVAL '5' SECOND);`
/// statements at the start of `text`, which sqlparser does not read (Flink's
/// `WATERMARK`), and the text with them blanked out (same width: positions stay).
pub(super) fn create_tables(
    text: &str,
    at: &Query,
    errors: &mut Errors,
) -> Result<(String, Vec<TableDecl>), Reported> {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<char> = chars.clone();
    let mut tables = Vec::new();
    let word_at = |i: usize, word: &str| {
        let n = word.len();
        i + n <= chars.len()
            && chars[i..i + n]
                .iter()
                .map(|c| c.to_ascii_uppercase())
                .eq(word.chars())
            && chars
                .get(i + n)
                .is_none_or(|c| !(c.is_alphanumeric() || *c == '_'))
    };
    let skip = |mut i: usize| {
        while chars.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        i
    };
    let ident = |i: usize| -> (String, usize) {
        let mut j = i;
        if chars.get(j) == Some(&'`') {
            j += 1;
            let start = j;
            while j < chars.len() && chars[j] != '`' {
                j += 1;
            }
            return (chars[start..j].iter().collect(), (j + 1).min(chars.len()));
        }
        while chars
            .get(j)
            .is_some_and(|c| c.is_alphanumeric() || *c == '_')
        {
            j += 1;
        }
        (chars[i..j].iter().collect(), j)
    };
    let mut i = skip(0);
    while word_at(i, "CREATE") {
        let start = i;
        let fail = |errors: &mut Errors, offset: usize, message: &str| {
            Err(at.error(errors, location(text, offset), message))
        };
        let table_kw = skip(i + 6);
        if !word_at(table_kw, "TABLE") {
            return fail(errors, table_kw, "`CREATE` in `sql!` is `CREATE TABLE stream (WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)`");
        }
        let name_at = skip(table_kw + 5);
        let (name, after_name) = ident(name_at);
        if name.is_empty() {
            return fail(
                errors,
                name_at,
                "`CREATE TABLE` names a stream of this pipeline",
            );
        }
        let open = skip(after_name);
        if chars.get(open) != Some(&'(') {
            return fail(
                errors,
                open,
                "`CREATE TABLE name (..)` takes its columns and watermark in parentheses",
            );
        }
        // The items, to the matching parenthesis (quotes respected).
        let (mut depth, mut j, mut quote) = (0usize, open, None::<char>);
        let mut items = vec![open + 1];
        while j < chars.len() {
            let c = chars[j];
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '`' | '"') => quote = Some(c),
                (None, '(') => depth += 1,
                (None, ')') => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                (None, ',') if depth == 1 => items.push(j + 1),
                _ => {}
            }
            j += 1;
        }
        if j >= chars.len() {
            return fail(errors, open, "`CREATE TABLE` lacks its closing parenthesis");
        }
        let close = j;
        let mut watermark = None;
        for (k, &item) in items.iter().enumerate() {
            let end = items.get(k + 1).map_or(close, |next| next - 1);
            let p = skip(item);
            if !word_at(p, "WATERMARK") {
                continue; // a column: the stream's struct has its name and type
            }
            let item_text: String = chars[p..end].iter().collect();
            let words: Vec<&str> = item_text.split_whitespace().collect();
            let shape =
                "the watermark is `WATERMARK FOR ts AS ts - INTERVAL 'n' SECOND` (or `AS ts`)";
            let parsed = match words.as_slice() {
                [w, f, col, a, same]
                    if w.eq_ignore_ascii_case("WATERMARK")
                        && f.eq_ignore_ascii_case("FOR")
                        && a.eq_ignore_ascii_case("AS")
                        && same == col =>
                {
                    Some((col.to_string(), 0))
                }
                [w, f, col, a, same, "-", interval, amount, unit]
                    if w.eq_ignore_ascii_case("WATERMARK")
                        && f.eq_ignore_ascii_case("FOR")
                        && a.eq_ignore_ascii_case("AS")
                        && same == col
                        && interval.eq_ignore_ascii_case("INTERVAL") =>
                {
                    let n = amount.trim_matches('\'').parse::<u64>().ok();
                    let unit = match unit.to_ascii_uppercase().trim_end_matches('S') {
                        "MILLISECOND" => Some(1),
                        "SECOND" => Some(1_000),
                        "MINUTE" => Some(60_000),
                        "HOUR" => Some(3_600_000),
                        "DAY" => Some(86_400_000),
                        _ => None,
                    };
                    n.zip(unit).map(|(n, unit)| (col.to_string(), n * unit))
                }
                _ => None,
            };
            match parsed {
                Some(w) => watermark = Some(w),
                None => return fail(errors, p, shape),
            }
        }
        let mut end = skip(close + 1);
        if word_at(end, "WITH") {
            return fail(errors, end, "a table's connector is the pipeline's source: `CREATE TABLE` in `sql!` declares only a watermark, without `WITH (..)`");
        }
        if chars.get(end) == Some(&';') {
            end += 1;
        }
        for c in &mut out[start..end] {
            if !c.is_whitespace() {
                *c = ' ';
            }
        }
        tables.push(TableDecl {
            name,
            watermark,
            at: location(text, name_at),
        });
        i = skip(end);
    }
    Ok((out.into_iter().collect(), tables))
}
