//! Latitude/longitude text into checked degrees, shared by every service that reads coordinates.

/// Parses degrees of `name` ("latitude" or "longitude") and checks they are finite and within `limit`.
fn parse_degrees(name: &str, text: &str, limit: f64) -> Result<f64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("{name} is required."));
    }
    let shown: String = text.chars().take(40).collect();
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{name} must be a number of degrees, got '{shown}'."))?;
    if !value.is_finite() {
        return Err(format!(
            "{name} must be a finite number of degrees, got '{shown}'."
        ));
    }
    if value.abs() > limit {
        return Err(format!(
            "{name} must be between -{limit} and {limit} degrees, got {value}."
        ));
    }
    Ok(value)
}

pub fn parse_latitude(text: &str) -> Result<f64, String> {
    parse_degrees("latitude", text, 90.0)
}

pub fn parse_longitude(text: &str) -> Result<f64, String> {
    parse_degrees("longitude", text, 180.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_degrees_and_rejects_everything_else() {
        assert_eq!(parse_latitude(" -33.87 ").unwrap(), -33.87);
        assert_eq!(parse_longitude("180").unwrap(), 180.0);
        for bad in [
            "",
            "  ",
            "NaN",
            "inf",
            "-infinity",
            "1e999",
            "91",
            "abc",
            "12,5",
            "0x10",
        ] {
            assert!(parse_latitude(bad).is_err(), "{bad}");
        }
        assert!(parse_longitude("-181")
            .unwrap_err()
            .contains("between -180 and 180"));
    }
}
