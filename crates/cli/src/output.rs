//! Every file a command writes, through the store's one atomic writer
//! ([`sphereflow_exec::write_atomic`]): tables, figures, reports, state files. A crash leaves
//! the old file or the new one, never a part.

use std::path::{Path, PathBuf};

use sphereflow_figures::render;
use sphereflow_paper::PaperFigure;

use crate::failure::Failure;

/// Writes a file atomically, creating its folder.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::Run(anyhow::Error::new(e).context(dir.display().to_string())))?;
    }
    sphereflow_exec::write_atomic(path, bytes).map_err(Failure::run)
}

/// An input error unless `path` names an `.npy` file (checked before any work, so that nothing
/// runs for output that cannot be written).
pub fn require_npy(path: &Path) -> Result<(), Failure> {
    if path.extension().and_then(|e| e.to_str()) == Some("npy") {
        Ok(())
    } else {
        Err(Failure::Input(anyhow::anyhow!(
            "--out {}: the output is an .npy file (name it *.npy)",
            path.display()
        )))
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
