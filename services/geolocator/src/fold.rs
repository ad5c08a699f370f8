//! Folding of place names for comparison: accents, case and punctuation do
//! not matter (`São Paulo`, `sao paulo` and `SAO-PAULO` are the same key).

/// The comparison key of `text`: transliterated to ASCII, lower case, words separated by single spaces.
pub fn fold(text: &str) -> String {
    let ascii = deunicode::deunicode(text);
    let mut key = String::with_capacity(ascii.len());
    for word in ascii
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
    {
        if !key.is_empty() {
            key.push(' ');
        }
        key.extend(word.chars().map(|c| c.to_ascii_lowercase()));
    }
    key
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn accents_case_and_punctuation_are_ignored() {
        assert_eq!(fold("São Paulo"), "sao paulo");
        assert_eq!(fold("  SAO-PAULO\t"), "sao paulo");
        assert_eq!(fold("München"), "munchen");
        assert_eq!(fold("Zürich"), fold("zurich"));
        assert_eq!(fold("\u{0}\u{7}"), "");
    }
}
