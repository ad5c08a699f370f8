//! The byte layout of a compiled index, which the writer ([`crate::compile()`])
//! and the reader ([`crate::Index`]) share. All integers little-endian,
//! strings UTF-8:
//!
//! ```text
//! header    MAGIC, then u32: cities, entries, block size, entry bytes, divisions, aliases, string bytes
//! cities    lat f64, lon f64, answer name (u32 offset, u16 length), country [u8; 2], division u16
//! fences    one per block: its first key's first FENCE_PREFIX bytes, zero-padded; the block's offset u32
//! entries   blocks of `block size` entries (the last may be shorter), back to back;
//!           entry: key length u16, key bytes, city u32   sorted by key, best candidate first
//! divisions code key, name key (each u32 offset, u16 length into the strings)
//! aliases   country key (u32 offset, u16 length), country [u8; 2]   sorted by key
//! strings   the answer names, division and alias keys, each stored once
//! ```
//!
//! A lookup should touch few pages, as the kernel maps some 64 KB of the
//! binary around each page it faults in: a binary search over 250,000 entries
//! whose keys lie elsewhere would touch some 36 places. So the entries keep
//! their keys inline, and a small fence table (about 160 KB, shared by every
//! lookup and so resident) tells which block to read: a lookup binary-searches
//! the fences, then scans forward from that block's offset until a key sorts
//! past its own, usually within that one block of some 600 bytes. Fences hold
//! truncated keys, which sort weakly like the keys, so the scan starts in the
//! last block whose fence sorts strictly below the query's prefix (or the
//! first block): every block before it ends below the query. Where many keys
//! share a fence-long prefix, the scan crosses into the next blocks, which
//! follow in memory.

pub const MAGIC: &[u8; 8] = b"GAZETTR3";
pub const HEADER_SIZE: usize = MAGIC.len() + 7 * 4;
pub const CITY_SIZE: usize = 8 + 8 + 6 + 2 + 2;
/// Entries per block of the shipped index (the reader takes it from the
/// header). Smaller blocks shorten the scan a little but make the fence
/// table, which every lookup reads, larger (16 a block double it); larger
/// blocks make the scan, the main cost of a lookup, longer.
pub const BLOCK_SIZE: usize = 32;
/// How much of a block's first key its fence holds. At most 43 shipped
/// entries share their first 16 bytes (Burmese names, 3 bytes a letter), so a
/// scan crosses at most two blocks more than whole keys in the fences would need.
pub const FENCE_PREFIX: usize = 16;
pub const FENCE_SIZE: usize = FENCE_PREFIX + 4;
pub const DIVISION_SIZE: usize = 6 + 6;
pub const ALIAS_SIZE: usize = 6 + 2;
/// `division` of a city whose first-level division has no name in the data.
pub const NO_DIVISION: u16 = u16::MAX;

/// A key's fence: its first [`FENCE_PREFIX`] bytes, zero-padded. Truncating,
/// and padding with the byte that sorts first, keeps the order of keys, weakly:
/// a key at or below another has a fence at or below the other's.
pub fn fence_prefix(key: &[u8]) -> [u8; FENCE_PREFIX] {
    let mut prefix = [0; FENCE_PREFIX];
    let length = key.len().min(FENCE_PREFIX);
    prefix[..length].copy_from_slice(&key[..length]);
    prefix
}
