//! The report of a reproduction: the claims, the fits, the figures and the sweeps, as Markdown
//! and as a self-contained HTML page (figures inline).

use std::fmt::Write as _;

use base64::Engine as _;

use crate::claims::Claim;
use crate::figure_set::PaperFigure;
use crate::runs::Results;

/// What the report says about how it was made.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    /// The profile (`quick` or `paper`).
    pub profile: String,
    /// The sphereflow version.
    pub version: String,
    /// The solver's numerical revision.
    pub solver_rev: u32,
    /// The git commit of the binary, if known.
    pub commit: Option<String>,
    /// Threads available.
    pub threads: usize,
    /// The host.
    pub host: String,
    /// Tasks computed by this run.
    pub computed: usize,
    /// Tasks found in the store.
    pub cached: usize,
    /// Tasks that failed.
    pub failed: usize,
    /// Wall time of the whole reproduction, seconds.
    pub elapsed_s: f64,
    /// The store the results are in, as the reader would type it (state files are under it).
    pub store: String,
}

/// The report in Markdown; `figures` are referred to as `figures/<name>.png`.
pub fn markdown(
    context: &Context,
    results: &Results,
    claims: &[Claim],
    figures: &[PaperFigure],
) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# sphereflow: the paper's claims, reproduced ({} profile)\n",
        context.profile
    );
    let _ = writeln!(
        md,
        "sphereflow {} (solver revision {}{}), {} threads on {}; {} tasks computed, {} from the store, {} failed; {:.0} s.\n",
        context.version,
        context.solver_rev,
        context
            .commit
            .as_ref()
            .map(|c| format!(", commit {}", &c[..c.len().min(12)]))
            .unwrap_or_default(),
        context.threads,
        context.host,
        context.computed,
        context.cached,
        context.failed,
        context.elapsed_s
    );
    if context.profile == "quick" {
        md.push_str(
            "The quick profile runs fewer particles, a lower step cap and fewer seeds than the paper \
             (each sweep's `[profile.quick]`); `sphereflow reproduce --profile paper` runs the authors' settings.\n\n",
        );
    }
    md.push_str(&claims_table(claims, &context.store));
    md.push_str("\n## Fits (power law C β^α and a + b sqrt β, β ≥ 1, 95% bootstrap intervals: runs resampled within each β)\n\n");
    md.push_str(
        "`points`: the runs fitted. A power law is fitted on logarithms, so it leaves out the runs \
         whose value is 0 (a run with no heavy cluster, say): fewer points than runs then, and \
         the exponent is that of the nonzero values. A group of several perceptron draws pools \
         them.\n\n",
    );
    md.push_str("| sweep | group | quantity | law | exponent | interval | prefactor | r² | points |\n|---|---|---|---|---|---|---|---|---|\n");
    for (name, sweep) in results {
        for f in &sweep.analysis.group_fits {
            let _ = writeln!(
                md,
                "| {name} | {} | {} | {} | {:.3} | {} | {:.3} | {:.3} | {} |",
                f.group,
                f.quantity,
                f.fit.law.as_str(),
                f.fit.exponent,
                f.fit.interval_text(3),
                f.fit.prefactor,
                f.fit.r2,
                f.fit.n_points
            );
        }
    }
    md.push_str("\n## Figures\n\n");
    for figure in figures {
        let file = format!("{}.png", figure.name);
        let caption = &figure.caption;
        // The image's text is the figure's number; the caption follows once, as a paragraph.
        let alt = caption
            .split_once(". ")
            .map(|(number, _)| number)
            .filter(|number| number.starts_with("Figure "))
            .unwrap_or(&figure.name);
        let _ = writeln!(
            md,
            "![{alt}](figures/{file})\n\n{caption} (`figures/{file}`, and `.svg`)\n"
        );
    }
    md.push_str("## Sweeps\n\n| sweep | tasks | ok | failed | pending | tables |\n|---|---|---|---|---|---|\n");
    for (name, sweep) in results {
        let c = &sweep.analysis.counts;
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {} | {} | `{name}/*.parquet` |",
            sweep.plan.tasks.len(),
            c["ok"],
            c["failed"],
            c["pending"]
        );
    }
    md
}

/// Where, relative to the report, the end state of a task behind a "fails" is copied (rows
/// `[mass, x...]`, as the store's `final.npy`), so that the report's folder holds the atoms it
/// names even without the store.
pub fn state_copy(task_id: &str) -> String {
    format!("states/{task_id}.npy")
}

/// The claims as a Markdown table under a `## Claims` heading: for each, the hypotheses a task
/// must meet, the tasks tested and not tested (by reason), what was measured and the verdict;
/// then the tasks behind every "fails", with their state files: the copy beside the report
/// ([`state_copy`]) and the original under `store`.
pub fn claims_table(claims: &[Claim], store: &str) -> String {
    let mut md = String::from(
        "## Claims\n\nA verdict counts only the tasks that meet every hypothesis of the claim \
         (MODEL.md §7); the others are listed as not tested, by the first hypothesis they miss.\n\n\
         | claim | hypotheses | tested | not tested | measured | verdict |\n|---|---|---|---|---|---|\n",
    );
    for claim in claims {
        let not_tested = if claim.not_tested.is_empty() {
            "0".to_string()
        } else {
            claim
                .not_tested
                .iter()
                .map(|(reason, n)| format!("{n}: {reason}"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            cell(&claim.claim),
            cell(&claim.hypotheses),
            claim.tested,
            cell(&not_tested),
            cell(&claim.measured),
            claim.verdict.as_str()
        );
    }
    md.push_str(
        "\n### Tasks behind each row\n\nThe tasks each row measured (the tested ones; for a \
         description, those described), by sweep, as the first 12 hex digits of their ids \
         (`task_id` in the sweep's `tasks.parquet`; `sphereflow show` takes them).\n\n",
    );
    for claim in claims {
        let _ = write!(md, "- {} ({}): ", claim.claim, claim.verdict.as_str());
        if claim.tasks.is_empty() {
            md.push_str(if claim.tested == 0 {
                "none\n"
            } else {
                "no stored task (computed when the report is written)\n"
            });
            continue;
        }
        let mut by_sweep: Vec<(&str, Vec<&str>)> = Vec::new();
        for task in &claim.tasks {
            let id = &task.task_id[..task.task_id.len().min(12)];
            match by_sweep.iter_mut().find(|(sweep, _)| *sweep == task.sweep) {
                Some((_, ids)) => ids.push(id),
                None => by_sweep.push((&task.sweep, vec![id])),
            }
        }
        let groups: Vec<String> = by_sweep
            .iter()
            .map(|(sweep, ids)| {
                let ids: Vec<String> = ids.iter().map(|id| format!("`{id}`")).collect();
                format!("{sweep} ({}): {}", ids.len(), ids.join(" "))
            })
            .collect();
        let _ = writeln!(md, "{}", groups.join("; "));
    }
    let failing: Vec<_> = claims.iter().filter(|c| !c.failing.is_empty()).collect();
    if !failing.is_empty() {
        md.push_str(
            "\n### Tasks behind each \"fails\"\n\nEach task's end state (rows `[mass, x_1 .. x_d]`) \
             is copied beside this report, under `states/`.\n\n",
        );
        for claim in failing {
            let _ = writeln!(md, "{}:\n", claim.claim);
            for task in &claim.failing {
                let id = &task.task_id;
                let _ = writeln!(
                    md,
                    "- `{}` ({}, {}): `{}`, a copy of `{store}/objects/{}/{id}/final.npy`",
                    &id[..id.len().min(12)],
                    task.sweep,
                    task.label,
                    state_copy(id),
                    &id[..id.len().min(2)]
                );
            }
            md.push('\n');
        }
    }
    md
}

/// A table cell's text: a `|` in it escaped, so that it does not end the cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// Text escaped for HTML (element content and quoted attributes).
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One line of Markdown text as HTML: escaped, `code` spans as `<code>`, `**bold**` as
/// `<strong>`, `\|` as `|`.
fn inline(text: &str) -> String {
    let mut html = String::new();
    // Backticks pair up from the left; an unmatched last one is kept as text.
    let code_parts = 2 * (text.matches('`').count() / 2);
    for (i, part) in text.split('`').enumerate() {
        let part = part.replace("\\|", "|");
        if i % 2 == 1 && i < code_parts {
            let _ = write!(html, "<code>{}</code>", escape(&part));
            continue;
        }
        if i % 2 == 1 {
            html.push('`');
        }
        let escaped = escape(&part);
        let pieces: Vec<&str> = escaped.split("**").collect();
        // Stars pair up likewise: an unmatched last `**` is kept as text.
        let bold_marks = 2 * ((pieces.len() - 1) / 2);
        for (j, piece) in pieces.iter().enumerate() {
            if j > 0 {
                html.push_str(match (j <= bold_marks, j % 2) {
                    (true, 1) => "<strong>",
                    (true, _) => "</strong>",
                    (false, _) => "**",
                });
            }
            html.push_str(piece);
        }
    }
    html
}

/// The cells of a Markdown table row (`| a | b |`), split at unescaped `|`.
fn row_cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|');
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let mut cells = vec![String::new()];
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                chars.next();
                cells.last_mut().expect("a cell").push_str("\\|");
            }
            '|' => cells.push(String::new()),
            _ => cells.last_mut().expect("a cell").push(c),
        }
    }
    cells.iter().map(|c| c.trim().to_string()).collect()
}

/// What a line of the report's Markdown starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Heading(usize),
    Table,
    Item,
    Image,
    Text,
    Blank,
}

fn block_of(line: &str) -> Block {
    let hashes = line.chars().take_while(|&c| c == '#').count();
    if (1..=6).contains(&hashes) && line[hashes..].starts_with(' ') {
        Block::Heading(hashes)
    } else if line.starts_with('|') {
        Block::Table
    } else if line.starts_with("- ") {
        Block::Item
    } else if line.starts_with("![") {
        Block::Image
    } else if line.trim().is_empty() {
        Block::Blank
    } else {
        Block::Text
    }
}

/// A self-contained HTML page of the Markdown report: the figures inline as base64 PNG, read
/// through `image` (the bytes of an image the report refers to, by its relative path).
///
/// The report's Markdown is rendered as HTML elements, never shown raw: headings; tables with
/// their header row as `<th>`; bullet lists; paragraphs (consecutive lines joined); `code` and
/// `**bold**`; and each image with the paragraph that follows it as its `<figcaption>` (shown
/// once).
pub fn html(markdown: &str, image: &dyn Fn(&str) -> Option<Vec<u8>>) -> String {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut body = String::new();
    let mut i = 0;
    // The lines from `i` on while they start blocks of `kind`.
    let run_of = |i: usize, kind: Block| {
        lines[i..]
            .iter()
            .take_while(|line| block_of(line) == kind)
            .count()
    };
    while i < lines.len() {
        let line = lines[i];
        match block_of(line) {
            Block::Blank => i += 1,
            Block::Heading(level) => {
                let _ = writeln!(
                    body,
                    "<h{level}>{}</h{level}>",
                    inline(line[level..].trim())
                );
                i += 1;
            }
            Block::Table => {
                let n = run_of(i, Block::Table);
                let rows = &lines[i..i + n];
                let is_rule = |row: &&str| {
                    row_cells(row)
                        .iter()
                        .all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':')))
                };
                let header = rows.len() > 1 && is_rule(&rows[1]);
                body.push_str("<table>\n");
                for (k, row) in rows.iter().enumerate() {
                    if header && k == 1 {
                        continue;
                    }
                    let tag = if header && k == 0 { "th" } else { "td" };
                    let cells: String = row_cells(row)
                        .iter()
                        .map(|c| format!("<{tag}>{}</{tag}>", inline(c)))
                        .collect();
                    let _ = writeln!(body, "<tr>{cells}</tr>");
                }
                body.push_str("</table>\n");
                i += n;
            }
            Block::Item => {
                let n = run_of(i, Block::Item);
                body.push_str("<ul>\n");
                for item in &lines[i..i + n] {
                    let _ = writeln!(body, "<li>{}</li>", inline(&item[2..]));
                }
                body.push_str("</ul>\n");
                i += n;
            }
            Block::Image => {
                let rest = &line[2..];
                let (alt, target) = rest.split_once("](").unwrap_or((rest, ""));
                let target = target.trim_end().trim_end_matches(')');
                let bytes = image(target).unwrap_or_default();
                i += 1;
                // The caption: the paragraph right after the image (blank lines between).
                let mut next = i;
                while next < lines.len() && block_of(lines[next]) == Block::Blank {
                    next += 1;
                }
                let caption = if next < lines.len() && block_of(lines[next]) == Block::Text {
                    let n = run_of(next, Block::Text);
                    let text = lines[next..next + n].join(" ");
                    i = next + n;
                    inline(&text)
                } else {
                    inline(alt)
                };
                let _ = writeln!(
                    body,
                    "<figure><img alt=\"{}\" src=\"data:image/png;base64,{}\"><figcaption>{caption}</figcaption></figure>",
                    escape(alt),
                    base64::engine::general_purpose::STANDARD.encode(&bytes)
                );
            }
            Block::Text => {
                let n = run_of(i, Block::Text);
                let _ = writeln!(body, "<p>{}</p>", inline(&lines[i..i + n].join(" ")));
                i += n;
            }
        }
    }
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>sphereflow report</title>\n<style>\
         body{{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.4}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top}}\
         th{{font-weight:bold;background:#f4f4f4;text-align:left}}img{{max-width:100%}}\
         code{{background:#f4f4f4;padding:0 3px;border-radius:3px}}\
         figure{{margin:1.5em 0}}figcaption{{margin-top:0.5em}}</style></head><body>\n{body}</body></html>\n"
    )
}
