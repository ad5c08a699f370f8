//! Compiles the gazetteer (`data/`) into the index the service embeds: folding,
//! ranking and sorting some 250,000 names here keeps that work out of start-up.

use std::io::Read;
use std::path::Path;

const INPUTS: [&str; 3] = [
    "data/cities15000.tsv.gz",
    "data/countries.tsv",
    "data/admin1.tsv",
];

fn main() {
    // Cargo also reruns this when the gazetteer crate, a build-dependency, changes.
    for input in INPUTS {
        println!("cargo:rerun-if-changed={input}");
    }
    let read =
        |path: &str| std::fs::read(path).unwrap_or_else(|error| panic!("reading {path}: {error}"));
    let mut cities = String::new();
    flate2::read::GzDecoder::new(read(INPUTS[0]).as_slice())
        .read_to_string(&mut cities)
        .unwrap_or_else(|error| panic!("decompressing {}: {error}", INPUTS[0]));
    let text =
        |path: &str| String::from_utf8(read(path)).unwrap_or_else(|_| panic!("{path}: not UTF-8"));
    let compiled = gazetteer::compile(&cities, &text(INPUTS[1]), &text(INPUTS[2]))
        .unwrap_or_else(|error| panic!("compiling the gazetteer: {error}"));
    let out = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(Path::new(&out).join("gazetteer.bin"), compiled)
        .unwrap_or_else(|error| panic!("writing the compiled gazetteer: {error}"));
}
