//! Reads single-valued query parameters strictly: a repeated parameter is an
//! error rather than a silent pick of one of the values.

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueryError {
    #[error("parameter '{0}' was given more than once")]
    Repeated(String),
}

/// The decoded value of `name` in `query` (`a=1&b=2`), `None` when absent.
/// Invalid UTF-8 in percent-escapes is replaced, so garbage stays visible as garbage.
pub fn single_param(query: &str, name: &str) -> Result<Option<String>, QueryError> {
    let mut found = None;
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if key == name {
            if found.is_some() {
                return Err(QueryError::Repeated(name.to_owned()));
            }
            found = Some(value.into_owned());
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_one_value_and_rejects_repeats() {
        assert_eq!(
            single_param("location=S%C3%A3o+Paulo", "location")
                .unwrap()
                .as_deref(),
            Some("São Paulo")
        );
        assert_eq!(single_param("other=1", "location").unwrap(), None);
        assert_eq!(
            single_param("a=1&a=2", "a"),
            Err(QueryError::Repeated("a".into()))
        );
        assert_eq!(
            single_param("a=%ZZ%FF", "a").unwrap().as_deref(),
            Some("%ZZ\u{FFFD}")
        );
    }
}
