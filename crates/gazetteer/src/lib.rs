//! A gazetteer compiled into one byte string: place names folded, ranked and
//! sorted once, when the index is built, so that loading it is a header check
//! and a lookup reads a small table shared by all lookups, then one block of
//! entries. geolocator's `build.rs` compiles GeoNames cities with [`compile()`];
//! the service embeds the bytes and searches them with [`Index`].
//!
//! Names are compared folded ([`fold`]): case, accents, punctuation and
//! `St.`/`Mt.`/`Ft.` do not matter; other scripts match as written (`東京`,
//! `मुंबई`, `Москва`), and if that finds nothing, transliterated to Latin.
//!
//! **Which city a name finds** (the ranking rule):
//! 1. Candidates are the cities with that name as their own name or as one of
//!    their alternate names. An alternate name is *common* for a city when
//!    GeoNames lists it in at least three spellings that fold alike (`Pekin`,
//!    `Pekín`, `Pékin`, ... for Beijing); a name listed once or twice is one
//!    language's or one era's (`Salisbury` for Harare).
//! 2. Own names and common alternate names come before other alternate names.
//! 3. Among them the most populous city wins, an own name counting ten times
//!    its city's population: a common alternate name of a city more than ten
//!    times as populous beats a city's own name (`Pekin` finds Beijing, not
//!    Pekin, Illinois; `Hanover` finds Hannover), a rare one never does
//!    (`Fredericia` stays in Denmark). Among other alternate names the most
//!    populous city wins. (`St. Petersburg`, St. spelled out, is the own name
//!    of Saint Petersburg, Russia, and of St. Petersburg, Florida: Russia's
//!    5.4 million win.)
//!
//! `"City, Qualifier"` keeps the candidates in that order and takes the first
//! in that country (name, ISO code or common alternate) or, failing that, in
//! that first-level division (name or code: `Portland, Maine`, `Springfield,
//! IL`); `"City, Division, Country"` narrows by both. Answers name the
//! division where the country has another city of that name, or one the name
//! would find first (`Portland, Oregon, United States`, but `Paris, France`),
//! so an answer, asked again, finds the same place; only cities sharing name,
//! division and country (such as two Longxing in Chongqing) cannot be told
//! apart.
//!
//! # Layout
//!
//! - [`fold`]: the comparison keys of names, for the index and for queries.
//! - `format`: the byte layout, and why it is laid out so; shared by both sides.
//! - [`compile()`]: TSV texts into the index (the writer).
//! - [`Index`]: lookups in a compiled index (the reader).

mod compile;
pub mod fold;
mod format;
mod index;

pub use compile::{compile, CompileError};
pub use index::{City, CorruptIndex, Index};
