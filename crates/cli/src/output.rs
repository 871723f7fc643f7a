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
