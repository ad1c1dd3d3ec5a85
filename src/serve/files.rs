//! Serving the report files: only complete regular files under a report tree's directory, of
//! the kinds reports are made of. A request path is decoded segment by segment and refused on
//! `..`, `.`, hidden names, separators hidden in percent-encoding and unfinished output; the file
//! found is then canonicalized (following symlinks) and must still be under the canonical root.

use std::path::{Path, PathBuf};

use percent_encoding::percent_decode_str;

/// Why a path is not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Not a file of the tree (missing, outside it, a directory without an index, a kind not
    /// served): 404, whatever the reason, so nothing about the disk is revealed.
    NotFound,
    /// Not valid percent-encoded UTF-8: 400.
    BadPath,
}

/// The content type of each kind of file served; other kinds are not served.
pub fn content_type(path: &Path) -> Option<&'static str> {
    Some(match path.extension()?.to_str()? {
        "html" => "text/html; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "png" => "image/png",
        "txt" => "text/plain; charset=utf-8",
        _ => return None,
    })
}

/// The file `raw` (the request path under the tree, still percent-encoded) names under `root`.
/// A directory stands for its `index.html`.
pub fn resolve(root: &Path, raw: &str) -> Result<PathBuf, Refused> {
    let mut relative = PathBuf::new();
    for segment in raw.split('/').filter(|s| !s.is_empty()) {
        let name = percent_decode_str(segment)
            .decode_utf8()
            .map_err(|_| Refused::BadPath)?;
        let hidden = name.starts_with('.') || name.ends_with(".inprogress");
        if hidden || name.contains(['/', '\\', '\0']) {
            return Err(Refused::NotFound);
        }
        relative.push(name.as_ref());
    }
    let root = root.canonicalize().map_err(|_| Refused::NotFound)?;
    let mut path = root.join(&relative);
    if path.is_dir() {
        path.push("index.html");
    }
    let real = path.canonicalize().map_err(|_| Refused::NotFound)?;
    if !real.starts_with(&root) || !real.is_file() || content_type(&real).is_none() {
        return Err(Refused::NotFound);
    }
    Ok(real)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_of_the_tree_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("reports");
        std::fs::create_dir_all(root.join("results")).unwrap();
        std::fs::write(root.join("index.html"), "i").unwrap();
        std::fs::write(root.join("results/a.json"), "{}").unwrap();
        std::fs::write(root.join("notes.bin"), "x").unwrap();
        std::fs::write(root.join("a.html.inprogress"), "torn").unwrap();
        std::fs::write(dir.path().join("secret.html"), "s").unwrap();
        let real = root.canonicalize().unwrap();
        assert_eq!(resolve(&root, ""), Ok(real.join("index.html")));
        assert_eq!(resolve(&root, "results/a.json"), Ok(real.join("results/a.json")));
        assert_eq!(resolve(&root, "results%2Fa.json"), Err(Refused::NotFound));
        assert_eq!(resolve(&root, "results"), Err(Refused::NotFound), "no listing");
        for bad in [
            "../secret.html",
            "%2e%2e/secret.html",
            "..%2fsecret.html",
            "notes.bin",
            "a.html.inprogress",
        ] {
            assert_eq!(resolve(&root, bad), Err(Refused::NotFound), "{bad}");
        }
        assert_eq!(resolve(&root, "%ff"), Err(Refused::BadPath));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("secret.html"), root.join("out.html")).unwrap();
            assert_eq!(resolve(&root, "out.html"), Err(Refused::NotFound), "a symlink out");
            std::os::unix::fs::symlink(root.join("index.html"), root.join("in.html")).unwrap();
            assert_eq!(
                resolve(&root, "in.html"),
                Ok(real.join("index.html")),
                "a symlink within"
            );
        }
    }
}
