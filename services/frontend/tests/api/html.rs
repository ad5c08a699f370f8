//! The page as a browser reads it: elements, attributes, and text with its
//! character references decoded, by a WHATWG-conformant tokenizer. Tests hold
//! the page to what a user sees, not to one way of escaping it.

use html5gum::{HtmlString, StartTag, Token, Tokenizer};

fn string(bytes: &HtmlString) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn attribute_of(tag: &StartTag<()>, name: &str) -> Option<String> {
    tag.attributes
        .iter()
        .find(|(key, _)| key.as_slice() == name.as_bytes())
        .map(|(_, value)| string(&value.value))
}

/// The names of the page's elements, in order, as a browser sees them start.
pub fn elements(html: &str) -> Vec<String> {
    Tokenizer::new(html)
        .flatten()
        .filter_map(|token| match token {
            Token::StartTag(tag) => Some(string(&tag.name)),
            _ => None,
        })
        .collect()
}

/// The value of attribute `name` of the element with id `id`.
pub fn attribute(html: &str, id: &str, name: &str) -> Option<String> {
    Tokenizer::new(html)
        .flatten()
        .find_map(|token| match token {
            Token::StartTag(tag) if attribute_of(&tag, "id").as_deref() == Some(id) => {
                Some(attribute_of(&tag, name))
            }
            _ => None,
        })
        .flatten()
}

/// The text inside the element with id `id`, or `None` if there is no such element.
pub fn text(html: &str, id: &str) -> Option<String> {
    let mut tokens = Tokenizer::new(html).flatten();
    let name = tokens.by_ref().find_map(|token| match token {
        Token::StartTag(tag) if attribute_of(&tag, "id").as_deref() == Some(id) => Some(tag.name),
        _ => None,
    })?;
    let (mut depth, mut text) = (1, String::new());
    for token in tokens {
        match token {
            Token::StartTag(tag) if tag.name == name && !tag.self_closing => depth += 1,
            Token::EndTag(tag) if tag.name == name => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            Token::String(content) => text.push_str(&string(&content.value)),
            _ => {}
        }
    }
    Some(text)
}
