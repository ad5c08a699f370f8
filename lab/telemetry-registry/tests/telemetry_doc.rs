//! The span, span event and metric tables of docs/TELEMETRY.md are generated
//! from the registry; this holds the committed document to what the
//! generator makes of the current registry.

use telemetry_registry::{tables, Registry};

#[test]
fn the_telemetry_doc_tables_are_the_ones_the_registry_renders() {
    let path = tables::document_path();
    let document =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", tables::DOCUMENT));
    let updated = tables::update(&document, &Registry::load())
        .unwrap_or_else(|e| panic!("{}: {e}", tables::DOCUMENT));
    if updated != document {
        let (was, is) = document
            .lines()
            .zip(updated.lines())
            .find(|(was, is)| was != is)
            .unwrap_or(("(the same lines, but not as many)", ""));
        panic!(
            "{} is stale: its registry tables differ from telemetry-schema/. \
             Run `{}` and commit the result.\nfirst difference:\n  now:       {was}\n  generated: {is}",
            tables::DOCUMENT,
            tables::COMMAND
        );
    }
}
