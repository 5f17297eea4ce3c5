//! CSV as Excel on a county office PC opens it: UTF-8 with a byte-order mark
//! (so Chinese text is not garbled), CRLF line ends, RFC 4180 quoting.

/// The byte-order mark that tells Excel the file is UTF-8.
pub const BOM: char = '\u{feff}';

/// One field, quoted when it holds a comma, a quote or a line break.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// A whole CSV document: BOM, the header line, then one line per row.
pub fn document<I>(headers: &[&str], rows: I) -> String
where
    I: IntoIterator<Item = Vec<String>>,
{
    let mut out = String::new();
    out.push(BOM);
    let line = |cells: Vec<String>| cells.iter().map(|c| field(c)).collect::<Vec<_>>().join(",");
    out.push_str(&line(headers.iter().map(|h| (*h).to_owned()).collect()));
    out.push_str("\r\n");
    for row in rows {
        out.push_str(&line(row));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_header_and_quoting() {
        let csv = document(
            &["户号", "备注"],
            [
                vec!["H1".into(), "打扫, 清洁".into()],
                vec!["H2".into(), "说\"好\"".into()],
            ],
        );
        assert!(csv.starts_with('\u{feff}'));
        assert_eq!(
            csv.trim_start_matches(BOM),
            "户号,备注\r\nH1,\"打扫, 清洁\"\r\nH2,\"说\"\"好\"\"\"\r\n"
        );
    }
}
