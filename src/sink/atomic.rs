//! Atomic outputs: write under a temporary name, rename when complete, so an interrupted run
//! never leaves a file (or a dataset directory) that looks finished.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Suffix of files and directories still being written.
pub const IN_PROGRESS: &str = "inprogress";

/// A file written as `<path>.inprogress` and renamed to `<path>` on `commit`.
/// Dropped without `commit`, the temporary file is removed.
pub struct AtomicFile {
    path: PathBuf,
    temp: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl AtomicFile {
    pub fn create(path: &Path) -> io::Result<AtomicFile> {
        let temp = temp_name(path);
        let file = File::create(&temp)?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            temp,
            writer: Some(BufWriter::with_capacity(1 << 20, file)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes, syncs and renames into place.
    pub fn commit(mut self) -> io::Result<()> {
        let writer = self.writer.take().expect("writer is present until commit");
        let file = writer.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&self.temp, &self.path)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.as_mut().expect("not committed").write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer.as_mut().expect("not committed").write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.as_mut().expect("not committed").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// A directory built as `<path>.inprogress` and swapped into place on `commit`, replacing what
/// was at `<path>` only once the new one is complete. Dropped without `commit`, it is removed.
pub struct StagedDir {
    path: PathBuf,
    temp: PathBuf,
    committed: bool,
}

impl StagedDir {
    pub fn create(path: &Path) -> io::Result<StagedDir> {
        let temp = temp_name(path);
        // A commit interrupted between its two renames left the previous directory as `.old`
        // and none at `path`: put it back, it is the last complete one.
        let old = old_name(path);
        if !path.exists() && old.is_dir() {
            fs::rename(&old, path)?;
        }
        if temp.exists() {
            fs::remove_dir_all(&temp)?;
        }
        fs::create_dir_all(&temp)?;
        Ok(StagedDir {
            path: path.to_path_buf(),
            temp,
            committed: false,
        })
    }

    /// Where to write the directory's contents.
    pub fn staging(&self) -> &Path {
        &self.temp
    }

    pub fn commit(mut self) -> io::Result<()> {
        let old = old_name(&self.path);
        if self.path.exists() {
            if old.exists() {
                fs::remove_dir_all(&old)?;
            }
            fs::rename(&self.path, &old)?;
        }
        fs::rename(&self.temp, &self.path)?;
        self.committed = true;
        if old.exists() {
            fs::remove_dir_all(&old)?;
        }
        Ok(())
    }
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.temp);
        }
    }
}

/// `<path>.inprogress`.
pub fn temp_name(path: &Path) -> PathBuf {
    suffixed(path, IN_PROGRESS)
}

/// `<path>.old`: where [`StagedDir::commit`] moves the directory it replaces, for a moment.
fn old_name(path: &Path) -> PathBuf {
    suffixed(path, "old")
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".");
    name.push(suffix);
    path.with_file_name(name)
}

/// Whether a directory entry is unfinished output: a `*.inprogress` file or directory, or a
/// `<dir>.old` that a [`StagedDir`] commit has not removed yet (its `<dir>` is the complete one).
/// Readers skip these: they belong to a generation that is running or was interrupted.
pub fn is_unfinished(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    if name.ends_with(&format!(".{IN_PROGRESS}")) {
        return true;
    }
    name.strip_suffix(".old")
        .is_some_and(|base| !base.is_empty() && path.with_file_name(base).is_dir())
}

/// Every unfinished entry (see [`is_unfinished`]) at or under `path`, depth first: what an
/// interrupted or running generation left. `path` itself counts, and so does its
/// `<path>.inprogress` sibling.
pub fn leftovers(path: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let sibling = temp_name(path);
    if sibling.exists() {
        out.push(sibling);
    }
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        if is_unfinished(&p) {
            out.push(p);
            continue;
        }
        if let Ok(entries) = fs::read_dir(&p) {
            let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            children.sort();
            stack.extend(children.into_iter().rev().filter(|c| c.is_dir() || is_unfinished(c)));
        }
    }
    out
}

/// Removes every unfinished entry under `dir` (see [`leftovers`]); returns how many. Only a
/// generation that owns `dir` calls this, at its start: then nothing else is writing there.
pub fn remove_leftovers(dir: &Path) -> io::Result<usize> {
    let found = leftovers(dir);
    for p in &found {
        if p.is_dir() {
            fs::remove_dir_all(p)?;
        } else {
            fs::remove_file(p)?;
        }
    }
    Ok(found.len())
}

/// The note a reader prints when it skipped leftovers at `path`: which, and what it read.
pub fn leftovers_note(path: &Path) -> Option<String> {
    let found = leftovers(path);
    let first = found.first()?;
    let more = match found.len() {
        1 => String::new(),
        n => format!(" and {} more", n - 1),
    };
    Some(format!(
        "{}{more}: left by a generation that is running or was interrupted; ignored (readers see only complete files, and the next generation removes these)",
        first.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.csv");
        let mut f = AtomicFile::create(&path).unwrap();
        f.write_all(b"x,y\n").unwrap();
        assert!(!path.exists());
        assert!(temp_name(&path).exists());
        f.commit().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"x,y\n");
        assert!(!temp_name(&path).exists());
    }

    #[test]
    fn dropped_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.csv");
        let mut f = AtomicFile::create(&path).unwrap();
        f.write_all(b"partial").unwrap();
        drop(f);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn staged_dir_replaces_the_old_one_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calls");
        fs::create_dir_all(path.join("date=old")).unwrap();
        let staged = StagedDir::create(&path).unwrap();
        fs::create_dir_all(staged.staging().join("date=new")).unwrap();
        assert!(path.join("date=old").exists());
        staged.commit().unwrap();
        assert!(path.join("date=new").exists());
        assert!(!path.join("date=old").exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn an_interrupted_commit_is_undone_and_its_leftovers_found() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calls");
        // Interrupted between the two renames: the old directory is `.old`, the new one staged.
        fs::create_dir_all(old_name(&path).join("date=old")).unwrap();
        fs::create_dir_all(temp_name(&path).join("date=new")).unwrap();
        fs::write(
            temp_name(&path).join("date=new").join("part-00000.parquet.inprogress"),
            b"x",
        )
        .unwrap();
        assert!(
            !is_unfinished(&old_name(&path)),
            "the only complete copy is not a leftover"
        );
        assert_eq!(leftovers(&path), vec![temp_name(&path)]);
        let staged = StagedDir::create(&path).unwrap();
        assert!(path.join("date=old").is_dir(), "the previous dataset is back");
        drop(staged);
        assert!(leftovers(dir.path()).is_empty());

        fs::create_dir_all(old_name(&path)).unwrap();
        fs::create_dir_all(path.join("date=x")).unwrap();
        fs::write(path.join("date=x").join("part-00000.parquet.inprogress"), b"x").unwrap();
        let mut found = leftovers(dir.path());
        found.sort();
        assert_eq!(
            found,
            vec![
                path.join("date=x").join("part-00000.parquet.inprogress"),
                old_name(&path)
            ]
        );
        assert!(leftovers_note(dir.path()).unwrap().contains("and 1 more"));
        assert_eq!(remove_leftovers(dir.path()).unwrap(), 2);
        assert!(leftovers(dir.path()).is_empty() && path.join("date=x").is_dir());
    }
}
