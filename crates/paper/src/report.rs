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
    md.push_str("\n## Fits (power law C β^α and a + b sqrt β, β ≥ 1, 95% bootstrap intervals over seeds)\n\n");
    md.push_str("| sweep | group | quantity | law | exponent | interval | prefactor | r² | runs |\n|---|---|---|---|---|---|---|---|---|\n");
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
        let _ = writeln!(
            md,
            "![{caption}](figures/{file})\n\n{caption} (`figures/{file}`, and `.svg`)\n"
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

/// The claims as a Markdown table under a `## Claims` heading: for each, the hypotheses a task
/// must meet, the tasks tested and not tested (by reason), what was measured and the verdict;
/// then the tasks behind every "fails", with their state files under `store`.
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
            claim.claim,
            claim.hypotheses,
            claim.tested,
            not_tested,
            claim.measured,
            claim.verdict.as_str()
        );
    }
    let failing: Vec<_> = claims.iter().filter(|c| !c.failing.is_empty()).collect();
    if !failing.is_empty() {
        md.push_str("\n### Tasks behind each \"fails\"\n\n");
        for claim in failing {
            let _ = writeln!(md, "{}:\n", claim.claim);
            for task in &claim.failing {
                let id = &task.task_id;
                let _ = writeln!(
                    md,
                    "- `{}` ({}, {}): `{store}/objects/{}/{id}/final.npy`",
                    &id[..id.len().min(12)],
                    task.sweep,
                    task.label,
                    &id[..id.len().min(2)]
                );
            }
            md.push('\n');
        }
    }
    md
}

/// A self-contained HTML page of the Markdown report: the figures inline as base64 PNG, read
/// through `image` (the bytes of an image the report refers to, by its relative path).
pub fn html(markdown: &str, image: &dyn Fn(&str) -> Option<Vec<u8>>) -> String {
    let mut body = String::new();
    let mut in_table = false;
    for line in markdown.lines() {
        let escaped = line
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        if let Some(rest) = line.strip_prefix("# ") {
            let _ = writeln!(body, "<h1>{rest}</h1>");
        } else if let Some(rest) = line.strip_prefix("## ") {
            let _ = writeln!(body, "<h2>{rest}</h2>");
        } else if line.starts_with("|---") {
            continue;
        } else if line.starts_with('|') {
            if !in_table {
                body.push_str("<table>\n");
                in_table = true;
            }
            let cells: Vec<&str> = escaped
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            let _ = writeln!(
                body,
                "<tr>{}</tr>",
                cells
                    .iter()
                    .map(|c| format!("<td>{c}</td>"))
                    .collect::<String>()
            );
            continue;
        } else if let Some(rest) = line.strip_prefix("![") {
            let (caption, target) = rest.split_once("](").unwrap_or((rest, ""));
            let target = target.trim_end_matches(')');
            let bytes = image(target).unwrap_or_default();
            let _ = writeln!(
                body,
                "<figure><img alt=\"{caption}\" src=\"data:image/png;base64,{}\"><figcaption>{caption}</figcaption></figure>",
                base64::engine::general_purpose::STANDARD.encode(&bytes)
            );
        } else if !line.is_empty() {
            if in_table {
                body.push_str("</table>\n");
                in_table = false;
            }
            let _ = writeln!(body, "<p>{escaped}</p>");
        }
        if line.is_empty() && in_table {
            body.push_str("</table>\n");
            in_table = false;
        }
    }
    if in_table {
        body.push_str("</table>\n");
    }
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>sphereflow report</title>\n<style>\
         body{{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.4}}\
         table{{border-collapse:collapse}}td{{border:1px solid #ccc;padding:4px 8px}}\
         tr:first-child td{{font-weight:bold;background:#f4f4f4}}img{{max-width:100%}}\
         figure{{margin:1.5em 0}}</style></head><body>\n{body}</body></html>\n"
    )
}
