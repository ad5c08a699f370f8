//! Folding of place names into comparison keys: case, accents, punctuation
//! and the usual abbreviations do not matter (`São Paulo`, `sao paulo` and
//! `SAO-PAULO` are one key; `St. Louis` is `Saint Louis`).
//!
//! Latin letters are transliterated to ASCII; letters of other scripts are
//! kept (`Москва` stays Cyrillic, `東京` stays Han), because transliterating
//! them loses what tells names apart (Arabic has no written short vowels, Han
//! would be read as Mandarin) and would let them collide with Latin names.
//! [`fold_transliterated`] is the lossy ASCII key, for a fallback only.
//! The compiler folds the index's names and the reader folds queries with
//! this one module, so both sides agree on every key.

/// The comparison key of `text`: Latin transliterated to ASCII, other scripts
/// kept (lower case, optional vowel marks dropped), words separated by single spaces.
pub fn fold(text: &str) -> String {
    fold_with(text, false)
}

/// The comparison key of `text` with every script transliterated to ASCII
/// (`Москва` -> `moskva`): matches Latin spellings of a name typed in another script.
pub fn fold_transliterated(text: &str) -> String {
    fold_with(text, true)
}

/// Whether `text` has letters that [`fold`] keeps in their own script.
pub fn has_other_script(text: &str) -> bool {
    text.chars()
        .any(|c| !c.is_ascii() && !is_latin_or_common(c) && c.is_alphanumeric())
}

fn fold_with(text: &str, transliterate: bool) -> String {
    let mut key = Key::default();
    for c in text.chars() {
        if c.is_ascii() {
            key.push_ascii(c);
        } else if transliterate || is_latin_or_common(c) {
            match deunicode::deunicode_char(c) {
                Some(ascii) => ascii.chars().for_each(|a| key.push_ascii(a)),
                None => key.separate(),
            }
        } else if c.is_whitespace() {
            key.separate();
        } else if is_optional_mark(c) {
            // Vowel points, like accents, are written or left out at will.
        } else if c.is_alphanumeric() {
            c.to_lowercase().for_each(|l| key.push(base_letter(l)));
        } else {
            match deunicode::deunicode_char(c) {
                // Punctuation of that script (、 ・ ، ।) separates words.
                Some(ascii)
                    if !ascii.is_empty() && !ascii.bytes().any(|b| b.is_ascii_alphanumeric()) =>
                {
                    key.separate()
                }
                // Combining signs (virama, Thai tone marks) are part of the word.
                _ => key.push(c),
            }
        }
    }
    key.finish()
}

#[derive(Default)]
struct Key {
    text: String,
    word_start: usize,
    pending_space: bool,
}

impl Key {
    fn push_ascii(&mut self, c: char) {
        if c.is_ascii_alphanumeric() {
            self.push(c.to_ascii_lowercase());
        } else {
            self.separate();
        }
    }

    fn push(&mut self, c: char) {
        if self.pending_space {
            self.text.push(' ');
            self.word_start = self.text.len();
            self.pending_space = false;
        }
        self.text.push(c);
    }

    fn separate(&mut self) {
        if self.text.len() > self.word_start {
            self.expand_abbreviation();
            self.pending_space = true;
        }
    }

    fn expand_abbreviation(&mut self) {
        let full = match &self.text[self.word_start..] {
            "st" => "saint",
            "ste" => "sainte",
            "mt" => "mount",
            "ft" => "fort",
            _ => return,
        };
        self.text.truncate(self.word_start);
        self.text.push_str(full);
    }

    fn finish(mut self) -> String {
        self.separate();
        self.text
    }
}

/// Latin letters, combining accents, punctuation, symbols and full-width ASCII:
/// what `deunicode` turns into the ASCII a Latin-script user would type.
fn is_latin_or_common(c: char) -> bool {
    matches!(c as u32,
        0x0080..=0x036F // Latin-1, Latin Extended-A/B, IPA, modifiers, combining accents
        | 0x1AB0..=0x1AFF | 0x1D00..=0x1EFF // phonetic extensions, combining supplement, Latin Extended Additional
        | 0x2000..=0x2BFF // punctuation, letterlike forms, symbols
        | 0x2C60..=0x2C7F | 0x2E00..=0x2E7F | 0xA720..=0xA7FF | 0xAB30..=0xAB6F
        | 0xFB00..=0xFB06 // ligatures (ﬁ)
        | 0xFE00..=0xFE0F | 0xFE10..=0xFE6F // variation selectors, vertical and small punctuation
        | 0xFF00..=0xFF5E) // full-width ASCII
}

/// Arabic harakat and tatweel, Hebrew points: optional in running text.
fn is_optional_mark(c: char) -> bool {
    matches!(c as u32,
        0x0610..=0x061A | 0x0640 | 0x064B..=0x065F | 0x0670 | 0x06D6..=0x06DC | 0x06DF..=0x06E4
        | 0x06E7..=0x06E8 | 0x06EA..=0x06ED
        | 0x0591..=0x05BD | 0x05BF | 0x05C1..=0x05C2 | 0x05C4..=0x05C5 | 0x05C7)
}

/// Greek without tonos or diaeresis, Russian е for ё, Greek final sigma as σ:
/// spellings people use interchangeably.
fn base_letter(c: char) -> char {
    match c {
        'ά' => 'α',
        'έ' => 'ε',
        'ή' => 'η',
        'ί' | 'ϊ' | 'ΐ' => 'ι',
        'ό' => 'ο',
        'ύ' | 'ϋ' | 'ΰ' => 'υ',
        'ώ' => 'ω',
        'ς' => 'σ',
        'ё' => 'е',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_case_and_punctuation_are_ignored() {
        assert_eq!(fold("São Paulo"), "sao paulo");
        assert_eq!(fold("  SAO-PAULO\t"), "sao paulo");
        assert_eq!(fold("München"), "munchen");
        assert_eq!(fold("Zürich"), fold("zurich"));
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("\u{0}\u{7}"), "");
    }

    #[test]
    fn usual_abbreviations_are_spelled_out() {
        assert_eq!(fold("St. Petersburg"), "saint petersburg");
        assert_eq!(fold("Ste-Foy"), "sainte foy");
        assert_eq!(fold("Mt Vernon"), fold("Mount Vernon"));
        assert_eq!(fold("Ft. Worth"), "fort worth");
        // Only whole words: not the letters inside a name.
        assert_eq!(fold("Stuttgart"), "stuttgart");
        assert_eq!(fold("Aost"), "aost");
    }

    #[test]
    fn other_scripts_keep_their_letters() {
        assert_eq!(fold("Москва"), "москва");
        assert_eq!(fold("МОСКВА"), "москва");
        assert_eq!(fold("Санкт-Петербург"), "санкт петербург");
        assert_eq!(fold("東京"), "東京");
        assert_eq!(fold("東京、日本"), "東京 日本");
        assert_eq!(fold("मुंबई"), "मुंबई");
        assert_eq!(fold("Αθήνα"), fold("ΑΘΗΝΑ"));
        assert_eq!(fold("Ёлки"), "елки");
        // Vowel points are optional: with or without them, one key.
        assert_eq!(fold("القَاهِرَة"), fold("القاهرة"));
        assert_eq!(fold("ירושלים"), fold("יְרוּשָׁלַיִם"));
        // Signs that are part of a word stay (virama, Thai tone marks).
        assert_ne!(fold("मुम्बई"), fold("मुमबई"));
        assert!(has_other_script("Москва") && !has_other_script("Köln, Deutschland"));
    }

    #[test]
    fn transliteration_is_the_ascii_fallback() {
        assert_eq!(fold_transliterated("Москва"), "moskva");
        assert_eq!(fold_transliterated("São Paulo"), fold("São Paulo"));
    }
}
