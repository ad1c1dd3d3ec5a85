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
        let old = self.path.with_extension("old");
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
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".");
    name.push(IN_PROGRESS);
    path.with_file_name(name)
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
}
