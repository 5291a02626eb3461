//! The one place the CLI writes to stdout/stderr directly (everything else goes through tracing).
#![allow(clippy::print_stdout, clippy::print_stderr)]

pub fn line(text: &str) {
    println!("{text}");
}

pub fn error(text: &str) {
    eprintln!("error: {text}");
}
