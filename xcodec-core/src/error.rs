//! The error type of xcodec-core.

use thiserror::Error;

/// Result with [`XcodecError`].
pub type Result<T, E = XcodecError> = std::result::Result<T, E>;

/// Everything that can go wrong while configuring, building or running a codec.
/// Each message is one line that names the problem and, where there is one, the fix.
#[derive(Debug, Error)]
pub enum XcodecError {
    /// A part name that no plugin registered.
    #[error("unknown {role} '{name}': registered {role} parts are {known}{hint}")]
    UnknownPart {
        /// The role looked in (acoustic, semantic, quantizer).
        role: String,
        /// The name asked for.
        name: String,
        /// The registered names, comma separated.
        known: String,
        /// "; did you mean 'x'?" or empty.
        hint: String,
    },
    /// A configuration that cannot be used as written.
    #[error("bad config: {0}")]
    Config(String),
    /// A device that cannot be used: a bad `--device` name, a backend not compiled in, no such adapter.
    #[error("{0}")]
    Device(String),
    /// A bandwidth the model does not offer.
    #[error("bandwidth {asked} kbps is not offered by this model; choose one of {valid}")]
    Bandwidth {
        /// The bandwidth asked for.
        asked: f64,
        /// The valid ones, comma separated.
        valid: String,
    },
    /// Tensor data whose shape, range or values do not fit the model.
    #[error("bad input: {0}")]
    Input(String),
    /// An operating-system I/O failure on a file or directory.
    #[error("{path}: {doing} ({source}); {fix}")]
    Io {
        /// The file or directory concerned.
        path: String,
        /// What was being done ("cannot be written").
        doing: String,
        /// What to check or do about it.
        fix: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// An I/O failure on a stream (standard input or output, a pipe).
    #[error("{doing}: {source}")]
    Stream {
        /// What was being done ("reading the codes").
        doing: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A file that cannot be used as it is (its contents, its kind, its name).
    #[error("{path}: {message}")]
    File {
        /// The file concerned.
        path: String,
        /// What went wrong and how to fix it.
        message: String,
    },
}

impl XcodecError {
    /// A [`XcodecError::File`] for `path`.
    pub fn file(path: impl AsRef<std::path::Path>, message: impl Into<String>) -> Self {
        Self::File { path: path.as_ref().display().to_string(), message: message.into() }
    }

    /// A [`XcodecError::Io`]: `path: doing (source); fix`.
    pub fn io(path: impl AsRef<std::path::Path>, doing: &str, fix: &str, source: std::io::Error) -> Self {
        Self::Io { path: path.as_ref().display().to_string(), doing: doing.into(), fix: fix.into(), source }
    }
}

/// A parser's message on one line, for one-line errors: text lines joined, white space folded, and the
/// drawing some parsers add under a failing spot (toml's and npy's `  |` / `1 | text` / `  |   ^` lines)
/// dropped, since folded into one line it points nowhere.
pub fn one_line(message: &str) -> String {
    let drawing = |line: &str| {
        let rest = line.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ');
        rest.is_empty() || rest.starts_with('|')
    };
    let lines = message.lines().filter(|l| !message.contains('\n') || !drawing(l));
    lines.flat_map(str::split_whitespace).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn one_line_folds_text_and_drops_drawings() {
        assert_eq!(one_line("unknown field `bogus`, expected `a`"), "unknown field `bogus`, expected `a`");
        let toml = "TOML parse error at line 1, column 9\n  |\n1 | a = \"x\" y\n  |         ^\nexpected newline, `#`\n";
        assert_eq!(one_line(toml), "TOML parse error at line 1, column 9 expected newline, `#`");
        let npy = "failed to parse header:  --> 1:62\n  |\n1 | {'descr': '<i8'} x\n  |   ^---\n  |\n  = expected EOI";
        assert_eq!(one_line(npy), "failed to parse header: --> 1:62 = expected EOI");
    }
}
