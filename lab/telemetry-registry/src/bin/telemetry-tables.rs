//! Rewrites the span, span event and metric tables of `docs/TELEMETRY.md`
//! from the registry in `telemetry-schema/`: run it after changing the
//! registry. Only the text between the `<!-- registry:*:begin -->` and
//! `<!-- registry:*:end -->` markers changes.

use std::process::ExitCode;
use telemetry_registry::{tables, Registry};

fn main() -> ExitCode {
    let path = tables::document_path();
    let document = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("{}: {e}", tables::DOCUMENT);
            return ExitCode::FAILURE;
        }
    };
    let updated = match tables::update(&document, &Registry::load()) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("{}: {e}", tables::DOCUMENT);
            return ExitCode::FAILURE;
        }
    };
    if updated == document {
        println!("{} is current", tables::DOCUMENT);
    } else if let Err(e) = std::fs::write(&path, updated) {
        eprintln!("{}: {e}", tables::DOCUMENT);
        return ExitCode::FAILURE;
    } else {
        println!("rewrote the registry tables of {}", tables::DOCUMENT);
    }
    ExitCode::SUCCESS
}
