//! The catalogue as Markdown: `features/STEPS.md`.

use std::fmt::Write as _;

use super::document::sections;

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The catalogue as Markdown (`features/STEPS.md`).
pub fn render_markdown() -> String {
    let mut md = String::from("# Step catalogue\n");
    for section in sections() {
        let _ = write!(
            md,
            "\n{} {}\n",
            "#".repeat(section.level.into()),
            section.title
        );
        let mut in_list = false;
        for text in section.text.iter().filter(|t| !t.is_empty()) {
            let bullet = text.starts_with("- ");
            if !(bullet && in_list) {
                md.push('\n');
            }
            in_list = bullet;
            md.push_str(text);
            md.push('\n');
        }
        if let Some(table) = section.table {
            let _ = write!(
                md,
                "\n| {} |\n|{}\n",
                table.headers.join(" | "),
                "---|".repeat(table.headers.len())
            );
            for row in table.rows {
                let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
                let _ = writeln!(md, "| {} |", cells.join(" | "));
            }
        }
    }
    md
}
