//! Standard output that fails cleanly: a closed pipe (`xcodec list | head -1`) or a full disk
//! (`> /dev/full`) ends the command with one line and a non-zero exit, never a panic.

use std::io::Write;

/// Writes one line to stdout, flushed; the error names stdout and the likely cause.
pub fn line(args: std::fmt::Arguments) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_fmt(args).and_then(|()| out.write_all(b"\n")).and_then(|()| out.flush()).map_err(stdout_error)
}

/// Writes `text` to stdout as it is, flushed.
pub fn text(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|()| out.flush()).map_err(stdout_error)
}

/// The one-line error of a failed write to stdout.
fn stdout_error(e: std::io::Error) -> anyhow::Error {
    let why = match e.kind() {
        std::io::ErrorKind::BrokenPipe => "the reading end of the pipe closed",
        std::io::ErrorKind::StorageFull => "the disk is full",
        _ => "the output is not writable",
    };
    anyhow::anyhow!("cannot write to standard output ({e}): {why}; the command's output is incomplete")
}

/// `println!` that returns an error instead of panicking: `say!("{x}")?`.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::out::line(format_args!($($arg)*))
    };
}
pub(crate) use say;

#[cfg(test)]
mod tests {
    #[test]
    fn a_full_disk_and_a_closed_pipe_are_named() {
        let full = super::stdout_error(std::io::Error::from_raw_os_error(28)).to_string();
        assert!(full.contains("disk is full"), "{full}");
        let pipe = super::stdout_error(std::io::Error::from_raw_os_error(32)).to_string();
        assert!(pipe.contains("pipe closed"), "{pipe}");
    }
}
