//! Configuration errors that tell the user what to fix: the file, the key, and what is allowed.

use std::path::PathBuf;

/// A problem with a configuration file or a command-line override.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file (or scenario directory) could not be read at all. The I/O error is part of the
    /// message rather than a `source`, so it is not printed twice.
    #[error("{path}: cannot read the {what}: {error}")]
    Read {
        path: PathBuf,
        what: &'static str,
        error: std::io::Error,
    },
    /// The file is not valid TOML, or a key has the wrong type or is unknown.
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    /// A command-line flag holds a value outside what is allowed.
    #[error("{flag}: {message}")]
    Flag { flag: String, message: String },
    /// A key holds a value outside what is allowed.
    #[error("{path}: `{key}`: {message}")]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
}

impl ConfigError {
    pub fn flag(flag: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Flag {
            flag: flag.into(),
            message: message.into(),
        }
    }

    pub fn invalid(path: &std::path::Path, key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            path: path.to_path_buf(),
            key: key.into(),
            message: message.into(),
        }
    }
}
