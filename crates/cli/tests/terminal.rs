//! The progress display on a real terminal: `sphereflow run` under a pseudo-terminal of 50
//! columns (util-linux `script`), its output split where the terminal would redraw (carriage
//! returns, newlines, cursor moves), and every redrawn line checked to fit the width, with the
//! overall bar, running tasks' steps and cluster counts, and no estimate before anything is
//! measured.

use std::process::Command;

/// The columns of the pseudo-terminal.
const COLUMNS: usize = 50;

/// The pieces of text the terminal shows between control characters and escape sequences.
fn pieces(raw: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' | '\n' => out.push(std::mem::take(&mut current)),
            '\u{1b}' => {
                out.push(std::mem::take(&mut current));
                // CSI: ESC [ parameters final-byte.
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if c.is_ascii_alphabetic() {
                            break;
                        }
                    }
                }
            }
            c => current.push(c),
        }
    }
    out.push(current);
    out.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

#[test]
fn the_progress_display_fits_a_narrow_terminal_and_says_what_runs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("term.toml"),
        "[sweep]\nname = \"term\"\n[model]\nparticles = 300\n[stop]\nmax_steps = 100000\n\
         drift_tol = 0\n[grid]\nmodel.beta = [1, 4, 9, 16]\ninit.seed = [1, 2]\n",
    )
    .unwrap();
    // drift_tol = 0 runs every task to its step cap (about 2 s here), so each one lives through
    // several of the runner's quarter-second progress reports on any machine.
    let typescript = dir.path().join("typescript");
    let command = format!(
        "stty cols {COLUMNS} rows 20; exec '{}' run term.toml --store store -j 2",
        env!("CARGO_BIN_EXE_sphereflow")
    );
    let status = Command::new("script")
        .args(["-q", "-e", "-c", &command])
        .arg(&typescript)
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("util-linux `script` runs (it makes the pseudo-terminal)");
    assert!(status.success(), "{status}");
    let raw = String::from_utf8(std::fs::read(&typescript).unwrap()).unwrap();
    let shown = pieces(&raw);
    // `script` frames the session with its own lines; the run ends with its summary line,
    // printed once (wrapped by the terminal like any printed text).
    let drawn: Vec<&String> = shown
        .iter()
        .filter(|p| !p.starts_with("Script ") && !p.starts_with("8 tasks:"))
        .collect();
    assert!(drawn.len() > 5, "{raw:?}");
    for piece in &drawn {
        assert!(
            piece.chars().count() <= COLUMNS,
            "a redrawn line is wider than the terminal ({} > {COLUMNS}): {piece:?}",
            piece.chars().count()
        );
    }
    let has = |pattern: &dyn Fn(&str) -> bool| drawn.iter().any(|p| pattern(p));
    assert!(
        has(&|p| p.contains("0/8") && p.contains("ETA estimating")),
        "no first line without an estimate: {drawn:?}"
    );
    assert!(
        !has(&|p| p.contains("0/8") && p.contains("ETA 0 s")),
        "an estimate of 0 s before any task finished: {drawn:?}"
    );
    assert!(
        has(&|p| p.contains("step ") && p.contains("/100000") && p.contains(" clusters")),
        "no running task's step and cluster count: {drawn:?}"
    );
    assert!(has(&|p| p.contains("8/8")), "{drawn:?}");
    assert!(!has(&|p| p.contains(" 1 clusters")), "{drawn:?}");
    assert!(
        shown.iter().any(|p| p.starts_with("8 tasks: 8 computed")),
        "{shown:?}"
    );
}
