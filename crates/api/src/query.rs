//! Query parameters as validating newtypes, and the sentence a client gets
//! when its query does not deserialize.
//!
//! The newtypes deserialize from the parameter's text (`try_from = "String"`),
//! so the message of a bad value is ours, not serde's.

use serde::Deserialize;
use std::fmt;
use utoipa::IntoParams;

/// `?location=<text>`: what gateway and geolocator answer for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LocationQuery {
    /// A place name, or `"<latitude>, <longitude>"`; leading and trailing white space is ignored.
    #[param(value_type = String, min_length = 1, max_length = 200, pattern = r"\S", example = "Paris")]
    pub location: LocationText,
}

/// `?location=<text>[&ground_track=true]`: what the gateway answers for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlaceDistanceQuery {
    /// A place name, or `"<latitude>, <longitude>"`; leading and trailing white space is ignored.
    #[param(value_type = String, min_length = 1, max_length = 200, pattern = r"\S", example = "Paris")]
    pub location: LocationText,
    /// Whether the answer carries the ISS's predicted `ground_track` (the map's line).
    #[serde(default, deserialize_with = "ground_track_flag")]
    #[param(value_type = bool, required = false, default = false)]
    pub ground_track: bool,
}

/// `?latitude=<degrees>&longitude=<degrees>[&ground_track=true]`: what iss-distance answers for.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoordinatesQuery {
    /// Degrees north of the equator.
    #[param(value_type = f64, minimum = -90.0, maximum = 90.0, example = 51.5)]
    pub latitude: Latitude,
    /// Degrees east of Greenwich.
    #[param(value_type = f64, minimum = -180.0, maximum = 180.0, example = -0.12)]
    pub longitude: Longitude,
    /// Whether the answer carries the ISS's predicted `ground_track`. Off by default: it is
    /// 31 points that only a map needs, most of the answer's bytes.
    #[serde(default, deserialize_with = "ground_track_flag")]
    #[param(value_type = bool, required = false, default = false)]
    pub ground_track: bool,
}

/// The `ground_track` flag: exactly `true` or `false`, so a typo is a 400 rather than a silent default.
fn ground_track_flag<'de, D: serde::Deserializer<'de>>(parameter: D) -> Result<bool, D::Error> {
    let text = String::deserialize(parameter)?;
    match text.as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => {
            let shown: String = other.chars().take(40).collect();
            Err(serde::de::Error::custom(format!(
                "ground_track must be true or false, got '{shown}'."
            )))
        }
    }
}

/// A place name (or `"<lat>, <lon>"`) as typed: trimmed, not blank, not too long.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct LocationText(String);

impl LocationText {
    /// Longer texts are not place names; refusing them keeps lookups and logs cheap.
    pub const MAX_CHARS: usize = 200;
    /// What a blank or missing location is told (the workshop's wording).
    pub const BLANK: &'static str = "No location given";

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for LocationText {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(Self::BLANK.to_owned());
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(format!(
                "Location is too long (at most {} characters).",
                Self::MAX_CHARS
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }
}

impl fmt::Display for LocationText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Degrees north, finite and within ±90.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Deserialize)]
#[serde(try_from = "String")]
pub struct Latitude(f64);

/// Degrees east, finite and within ±180.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Deserialize)]
#[serde(try_from = "String")]
pub struct Longitude(f64);

impl Latitude {
    pub fn degrees(self) -> f64 {
        self.0
    }

    /// Checks a number that did not come from text (an upstream's JSON number).
    pub fn new(degrees: f64) -> Result<Self, String> {
        check_degrees("latitude", degrees, &degrees.to_string(), 90.0).map(Self)
    }
}

impl Longitude {
    pub fn degrees(self) -> f64 {
        self.0
    }

    /// Checks a number that did not come from text (an upstream's JSON number).
    pub fn new(degrees: f64) -> Result<Self, String> {
        check_degrees("longitude", degrees, &degrees.to_string(), 180.0).map(Self)
    }
}

impl TryFrom<String> for Latitude {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        parse_degrees("latitude", &text, 90.0).map(Self)
    }
}

impl TryFrom<String> for Longitude {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        parse_degrees("longitude", &text, 180.0).map(Self)
    }
}

impl std::str::FromStr for Latitude {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        parse_degrees("latitude", text, 90.0).map(Self)
    }
}

impl std::str::FromStr for Longitude {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        parse_degrees("longitude", text, 180.0).map(Self)
    }
}

/// Degrees of `name` from text, finite and within `limit`.
fn parse_degrees(name: &str, text: &str, limit: f64) -> Result<f64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("{name} is required."));
    }
    // A long value is not echoed back whole.
    let shown: String = text.chars().take(40).collect();
    let degrees: f64 = text
        .parse()
        .map_err(|_| format!("{name} must be a number of degrees, got '{shown}'."))?;
    check_degrees(name, degrees, &shown, limit)
}

fn check_degrees(name: &str, degrees: f64, shown: &str, limit: f64) -> Result<f64, String> {
    if !degrees.is_finite() {
        return Err(format!(
            "{name} must be a finite number of degrees, got '{shown}'."
        ));
    }
    if degrees.abs() > limit {
        return Err(format!(
            "{name} must be between -{limit} and {limit} degrees, got {degrees}."
        ));
    }
    Ok(degrees)
}

/// The sentence for a query (or form) that did not deserialize, from serde's message.
///
/// Bad values already carry our sentence (the newtypes above); serde's own
/// two messages, for a missing and a repeated parameter, are reworded.
pub fn describe_rejected_query(serde_message: &str) -> String {
    if let Some(field) = backquoted_field(serde_message, "missing field `") {
        return match field {
            "location" => LocationText::BLANK.to_owned(),
            other => format!("{other} is required."),
        };
    }
    if let Some(field) = backquoted_field(serde_message, "duplicate field `") {
        return format!("parameter '{field}' was given more than once.");
    }
    serde_message.to_owned()
}

fn backquoted_field<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    message.strip_prefix(prefix)?.strip_suffix('`')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a handler's client is told for `query`, as actix's `web::Query` decodes it.
    fn rejection<T: serde::de::DeserializeOwned + fmt::Debug>(query: &str) -> String {
        let error = serde_urlencoded::from_str::<T>(query).expect_err(query);
        describe_rejected_query(&error.to_string())
    }

    #[test]
    fn coordinates_are_finite_degrees_in_range() {
        let query: CoordinatesQuery =
            serde_urlencoded::from_str("latitude=%20-33.87%20&longitude=180&extra=1").unwrap();
        assert_eq!(query.latitude.degrees(), -33.87);
        assert_eq!(query.longitude.degrees(), 180.0);
        assert!(
            !query.ground_track,
            "the track is asked for, not sent by default"
        );
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
            assert!(bad.parse::<Latitude>().is_err(), "{bad}");
        }
        assert!(Longitude::new(-181.0)
            .unwrap_err()
            .contains("between -180 and 180"));
        assert!(Latitude::new(f64::NAN).is_err());
    }

    #[test]
    fn a_rejected_query_is_told_what_is_wrong_in_a_sentence() {
        for (query, expected) in [
            ("", "latitude is required."),
            ("longitude=1", "latitude is required."),
            ("latitude=1", "longitude is required."),
            ("latitude=&longitude=", "latitude is required."),
            (
                "latitude=north&longitude=1",
                "latitude must be a number of degrees, got 'north'.",
            ),
            (
                "latitude=95&longitude=1",
                "latitude must be between -90 and 90 degrees, got 95.",
            ),
            (
                "latitude=1&latitude=2&longitude=1",
                "parameter 'latitude' was given more than once.",
            ),
            (
                "latitude=1&longitude=1&ground_track=yes",
                "ground_track must be true or false, got 'yes'.",
            ),
            (
                "latitude=1&longitude=1&ground_track=true&ground_track=true",
                "parameter 'ground_track' was given more than once.",
            ),
        ] {
            assert_eq!(rejection::<CoordinatesQuery>(query), expected, "{query}");
        }
    }

    #[test]
    fn a_location_is_trimmed_text_that_is_not_blank_or_too_long() {
        let query: LocationQuery = serde_urlencoded::from_str("location=+S%C3%A3o+Paulo+").unwrap();
        assert_eq!(query.location.as_str(), "São Paulo");
        let long = format!("location={}", "a".repeat(LocationText::MAX_CHARS + 1));
        for (query, expected) in [
            ("", "No location given"),
            ("location=%20%20", "No location given"),
            (
                "location=a&location=b",
                "parameter 'location' was given more than once.",
            ),
            (
                long.as_str(),
                "Location is too long (at most 200 characters).",
            ),
        ] {
            assert_eq!(rejection::<LocationQuery>(query), expected, "{query}");
        }
        let at_limit = format!("location={}", "é".repeat(LocationText::MAX_CHARS));
        assert!(serde_urlencoded::from_str::<LocationQuery>(&at_limit).is_ok());
    }

    #[test]
    fn the_gateway_sends_the_ground_track_only_when_asked() {
        for (query, wanted) in [
            ("location=Paris", false),
            ("location=Paris&ground_track=false", false),
            ("location=Paris&ground_track=true", true),
        ] {
            let parsed: PlaceDistanceQuery = serde_urlencoded::from_str(query).unwrap();
            assert_eq!(parsed.ground_track, wanted, "{query}");
        }
        for (query, expected) in [
            ("ground_track=true", "No location given"),
            (
                "location=Paris&ground_track=1",
                "ground_track must be true or false, got '1'.",
            ),
            (
                "location=Paris&ground_track=",
                "ground_track must be true or false, got ''.",
            ),
        ] {
            assert_eq!(rejection::<PlaceDistanceQuery>(query), expected, "{query}");
        }
    }
}
