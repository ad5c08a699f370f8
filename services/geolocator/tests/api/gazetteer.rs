use crate::helpers::spawn_app;
use api::{Place, PlaceSource};
use geolocator::config::GeocoderKind;

#[tokio::test]
async fn well_known_cities_resolve_to_the_right_place() {
    let app = spawn_app(GeocoderKind::Gazetteer).await;
    // (query, resolved name, latitude, longitude) — coordinates to 0.1 degree.
    let cases = [
        ("London", "London, United Kingdom", 51.51, -0.13),
        ("paris", "Paris, France", 48.85, 2.35),
        ("Tokyo", "Tokyo, Japan", 35.69, 139.69),
        ("New York", "New York City, United States", 40.71, -74.01),
        ("sao paulo", "São Paulo, Brazil", -23.55, -46.64),
        ("SÃO PAULO", "São Paulo, Brazil", -23.55, -46.64),
        ("Köln", "Köln, Germany", 50.93, 6.95),
        ("Cologne", "Köln, Germany", 50.93, 6.95),
        ("München", "Munich, Germany", 48.14, 11.58),
        ("Moscow", "Moscow, Russia", 55.75, 37.62),
        ("Sydney", "Sydney, Australia", -33.87, 151.21),
        ("Cairo", "Cairo, Egypt", 30.06, 31.25),
        ("Buenos Aires", "Buenos Aires, Argentina", -34.61, -58.38),
        ("Paris, US", "Paris, United States", 33.66, -95.56),
        ("London, Canada", "London, Canada", 42.98, -81.23),
        (
            "Springfield, IL",
            "Springfield, United States",
            39.80,
            -89.64,
        ),
        (
            "Springfield, MA",
            "Springfield, United States",
            42.10,
            -72.59,
        ),
    ];
    for (query, name, latitude, longitude) in cases {
        let (status, body) = app.locate(query).await;
        assert_eq!(status, 200, "{query}: {body}");
        let place: Place = serde_json::from_value(body.clone()).expect("the contract's body");
        assert_eq!(place.name, name, "{query}");
        assert_eq!(place.source, PlaceSource::Gazetteer, "{query}");
        assert!((place.latitude - latitude).abs() < 0.1, "{query}: {body}");
        assert!((place.longitude - longitude).abs() < 0.1, "{query}: {body}");
    }
}

#[tokio::test]
async fn coordinates_are_taken_as_coordinates() {
    let app = spawn_app(GeocoderKind::Gazetteer).await;
    let (status, body) = app.locate(" -33.87 , 151.21 ").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["latitude"].as_f64(), body["longitude"].as_f64()),
        (Some(-33.87), Some(151.21))
    );
    assert_eq!(body["source"], "coordinates");
}

#[tokio::test]
async fn an_unknown_place_is_a_404_that_names_it() {
    let app = spawn_app(GeocoderKind::Gazetteer).await;
    let (status, body) = app.locate("Xyzzyplugh").await;
    assert_eq!(status, 404);
    assert_eq!(
        body["error"],
        "No coordinates found for location 'Xyzzyplugh'"
    );
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx_and_never_a_5xx() {
    let app = spawn_app(GeocoderKind::Gazetteer).await;
    let no_location = [
        app.address.clone(),
        format!("{}?location=", app.address),
        format!("{}?other=1", app.address),
    ];
    for url in no_location {
        let (status, body) = app.get_url(&url).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("No location given")),
            "{url}"
        );
    }
    let (status, body) = app
        .get_url(&format!("{}?location=a&location=b", app.address))
        .await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("more than once"));
    let cases: Vec<(String, u16)> = vec![
        ("   ".into(), 400),
        ("\t\n".into(), 400),
        ("x".repeat(10_000), 400),
        ("\u{0}\u{7}\u{1b}[31m".into(), 404),
        ("☃☃☃".into(), 404),
        ("東京".into(), 404),
        ("NaN, 0".into(), 400),
        ("1e999, 0".into(), 400),
        ("91, 0".into(), 400),
        ("0, -181".into(), 400),
        ("%ZZ%FF".into(), 404),
        ("'; DROP TABLE cities; --".into(), 404),
        ("<script>alert(1)</script>".into(), 404),
    ];
    for (location, expected) in cases {
        let (status, body) = app.locate(&location).await;
        assert_eq!(status, expected, "{location:.40?}: {body}");
        let message = body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{location:.40?}: {body}"));
        assert!(message.len() < 400, "the message stays short");
    }
}
