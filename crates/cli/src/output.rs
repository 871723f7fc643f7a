//! Every file a command writes, through the store's one atomic writer
//! ([`sphereflow_exec::write_atomic`]): tables, figures, reports, state files. A crash leaves
//! the old file or the new one, never a part.

use std::path::{Path, PathBuf};

use sphereflow_figures::circle::{CircleGrid, CirclePanel};
use sphereflow_figures::sphere::{SphereGrid, SpherePanel};
use sphereflow_figures::{render, AnyFigure};
use sphereflow_paper::PaperFigure;
use sphereflow_solver::{Perceptron, State};

use crate::failure::Failure;

/// The clusters of an end state in words: count, heavy atoms, largest cluster and window mass
/// (for a state that is not spread).
pub fn clusters_text(s: &sphereflow_solver::Summary) -> String {
    format!(
        "{}, {} heavy, largest mass {:.4}, largest window mass {:.4}",
        plural(s.n_clusters, "cluster"),
        s.n_heavy,
        s.max_cluster_mass,
        s.max_window_mass
    )
}

/// A count and its noun, the noun plural unless the count is one: `1 cluster`, `3 clusters`.
pub fn plural(count: usize, word: &str) -> String {
    format!("{count} {word}{}", if count == 1 { "" } else { "s" })
}

/// Writes a file atomically, creating its folder.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::Run(anyhow::Error::new(e).context(dir.display().to_string())))?;
    }
    sphereflow_exec::write_atomic(path, bytes).map_err(Failure::run)
}

/// A state as the `.npy` of every state file the tool writes: one row `[mass, x_1 .. x_d]` per
/// atom, f64 (`sphereflow params` and docs/store.md say so; `stationary --from` and
/// `init.positions_file` read it back).
pub fn state_npy(state: &sphereflow_solver::State) -> Vec<u8> {
    let mut rows = Vec::with_capacity(state.len() * (state.dim + 1));
    for (x, mass) in state.positions.chunks_exact(state.dim).zip(&state.masses) {
        rows.push(*mass);
        rows.extend_from_slice(x);
    }
    let shape = [state.len() as u64, state.dim as u64 + 1];
    sphereflow_exec::store::npy_bytes(&rows, &shape)
}

/// An input error unless `path` names an `.npy` file that can be written (checked before any
/// work, so that nothing runs for output that cannot be written).
pub fn require_npy(path: &Path) -> Result<(), Failure> {
    if path.extension().and_then(|e| e.to_str()) != Some("npy") {
        return Err(Failure::Input(anyhow::anyhow!(
            "--out {}: the output is an .npy file (name it *.npy)",
            path.display()
        )));
    }
    check_file_target("--out", path)
}

/// Checks, before any work, that a file can be written at `path` (given by `flag`): not a
/// folder, and in a folder that is writable or can be created ([`check_folder_target`]).
/// Nothing is created.
pub fn check_file_target(flag: &str, path: &Path) -> Result<(), Failure> {
    if path.is_dir() {
        return Err(Failure::Input(anyhow::anyhow!(
            "{flag} {}: is a folder; name a file",
            path.display()
        )));
    }
    let folder = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    writable(flag, path, folder)
}

/// Checks, before any work, that files can be written in the folder `dir` (given by `flag`):
/// it is a writable folder, or the nearest folder above it that exists is one (the missing ones
/// are created when the files are written). Nothing is created.
pub fn check_folder_target(flag: &str, dir: &Path) -> Result<(), Failure> {
    writable(flag, dir, dir)
}

/// Whether files can be written in `dir` or, where it does not exist, in the nearest folder
/// above it; an input error naming `flag` and `shown` otherwise.
fn writable(flag: &str, shown: &Path, dir: &Path) -> Result<(), Failure> {
    let fail =
        |reason: String| Failure::Input(anyhow::anyhow!("{flag} {}: {reason}", shown.display()));
    let mut current = dir.to_path_buf();
    loop {
        match std::fs::metadata(&current) {
            Ok(metadata) if metadata.is_dir() => break,
            Ok(_) => {
                return Err(fail(format!(
                    "{} is a file, not a folder",
                    current.display()
                )))
            }
            // Missing, or under a file (`a_file/sub`): look at the folder above.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                current = match current.parent() {
                    Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
                    _ => PathBuf::from("."),
                };
            }
            Err(e) => return Err(fail(format!("{}: {e}", current.display()))),
        }
    }
    // Permissions, read-only filesystems and the like: a probe file, created and removed.
    let probe = current.join(format!(".sphereflow-probe.{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(fail(format!("cannot write in {}: {e}", current.display()))),
    }
}

/// Checks, before any work, that `--figure` names a `.png` or `.svg` file that can be written
/// and that states of dimension `dim` can be drawn (on S^1 and S^2).
pub fn require_figure(path: &Path, dim: usize) -> Result<(), Failure> {
    let extension = path.extension().and_then(|e| e.to_str());
    if !matches!(extension, Some("png" | "svg")) {
        return Err(Failure::Input(anyhow::anyhow!(
            "--figure {}: the figure is a .png or .svg file (name it *.png or *.svg)",
            path.display()
        )));
    }
    if !matches!(dim, 2 | 3) {
        return Err(Failure::Input(anyhow::anyhow!(
            "--figure {}: states are drawn on S^1 and S^2 (model.dim = 2 or 3), not for \
             model.dim = {dim}",
            path.display()
        )));
    }
    check_file_target("--figure", path)
}

/// Draws one state as the paper's figures draw final states (a circle on S^1 over the
/// perceptron's sectors, a map of S^2 with its clusters ringed) and writes it as PNG or SVG,
/// as the name of `path` says ([`require_figure`] checked it). `mark`, if any, is printed in red
/// under the title (a run that stopped at its cap says so).
pub fn write_state_figure(
    path: &Path,
    title: &str,
    state: &State,
    perceptron: &Perceptron,
    clusters: Vec<(Vec<f64>, f64)>,
    mark: Option<String>,
) -> Result<(), Failure> {
    let figure = match state.dim {
        2 => AnyFigure::Circles(CircleGrid {
            title: title.into(),
            columns: 1,
            panels: vec![CirclePanel {
                title: String::new(),
                state: state.clone(),
                perceptron: Some(perceptron.clone()),
                mark,
            }],
        }),
        _ => AnyFigure::Spheres(SphereGrid {
            title: title.into(),
            panels: vec![SpherePanel {
                title: String::new(),
                state: state.clone(),
                perceptron: Some(perceptron.clone()),
                clusters,
                mark,
            }],
        }),
    };
    let rendered = render(&figure)
        .map_err(|e| Failure::Run(anyhow::Error::new(e).context(path.display().to_string())))?;
    if path.extension().and_then(|e| e.to_str()) == Some("svg") {
        write_file(path, rendered.svg.as_bytes())
    } else {
        write_file(path, &rendered.png)
    }
}

/// Draws each figure and writes `<dir>/<name>.png` and `.svg`; returns the PNGs' paths.
pub fn write_figures(dir: &Path, figures: &[PaperFigure]) -> Result<Vec<PathBuf>, Failure> {
    let mut written = Vec::new();
    for figure in figures {
        let rendered = render(&figure.figure)
            .map_err(|e| Failure::Run(anyhow::Error::new(e).context(figure.name.clone())))?;
        let png = dir.join(format!("{}.png", figure.name));
        write_file(&png, &rendered.png)?;
        write_file(
            &dir.join(format!("{}.svg", figure.name)),
            rendered.svg.as_bytes(),
        )?;
        written.push(png);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_agree_with_their_count() {
        assert_eq!(plural(1, "cluster"), "1 cluster");
        assert_eq!(plural(0, "cluster"), "0 clusters");
        assert_eq!(plural(3, "task"), "3 tasks");
    }
}
