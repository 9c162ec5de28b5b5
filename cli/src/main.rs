//! The `xcodec` binary: the command line with the built-in parts.

fn main() -> std::process::ExitCode {
    xcodec_cli::run::<xcodec_builtin::NoExtra>()
}
