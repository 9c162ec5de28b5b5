//! `xcodec-custom`: the whole `xcodec` command line, with the toy parts built in beside the built-ins.

fn main() -> std::process::ExitCode {
    xcodec_cli::run::<xcodec_example_custom::ToyParts>()
}
