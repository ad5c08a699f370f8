use crate::helpers::{spawn_app, TestApp};
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
            "Springfield, Illinois, United States",
            39.80,
            -89.64,
        ),
        (
            "Springfield, MA",
            "Springfield, Massachusetts, United States",
            42.10,
            -72.59,
        ),
    ];
    assert_finds(&app, &cases).await;
}

/// `(query, resolved name, latitude, longitude)`: each query finds that place (coordinates to 0.1 degree).
async fn assert_finds(app: &TestApp, cases: &[(&str, &str, f64, f64)]) {
    for &(query, name, latitude, longitude) in cases {
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
async fn ambiguous_names_find_the_place_the_ranking_rule_says() {
    let app = spawn_app(GeocoderKind::Gazetteer).await;
    let portland_or = "Portland, Oregon, United States";
    let portland_me = "Portland, Maine, United States";
    let washington = "Washington, District of Columbia, United States";
    let cases = [
        // Homonyms in one country: the most populous wins, the division tells them apart,
        // "City, State" narrows by the state's name or code.
        ("Portland", portland_or, 45.52, -122.68),
        ("Portland, OR", portland_or, 45.52, -122.68),
        ("Portland, Oregon", portland_or, 45.52, -122.68),
        ("Portland, ME", portland_me, 43.66, -70.26),
        ("portland, maine", portland_me, 43.66, -70.26),
        ("Portland, Maine, USA", portland_me, 43.66, -70.26),
        (portland_me, portland_me, 43.66, -70.26),
        ("Washington", washington, 38.90, -77.04),
        ("Washington, DC", washington, 38.90, -77.04),
        (
            "Washington, District of Columbia",
            washington,
            38.90,
            -77.04,
        ),
        (
            "Springfield, Illinois",
            "Springfield, Illinois, United States",
            39.80,
            -89.64,
        ),
        // A division name that is also a country: the country first, then the state.
        ("Tbilisi, Georgia", "Tbilisi, Georgia", 41.69, 44.83),
        ("Atlanta, Georgia", "Atlanta, United States", 33.75, -84.39),
        // "St." is "Saint": two own names, and the most populous wins.
        ("St. Petersburg", "Saint Petersburg, Russia", 59.94, 30.31),
        ("St Petersburg", "Saint Petersburg, Russia", 59.94, 30.31),
        // A common alternate name (listed in 3+ spellings) of a city more than ten
        // times as populous beats a city's own name...
        ("Hanover", "Hannover, Germany", 52.37, 9.73),
        ("Pekin", "Beijing, China", 39.91, 116.40),
        ("Medina", "Madinah, Saudi Arabia", 24.47, 39.61),
        // ...and the qualified name still finds the smaller city.
        (
            "St. Petersburg, FL",
            "St. Petersburg, United States",
            27.77,
            -82.68,
        ),
        (
            "Saint Petersburg, Florida",
            "St. Petersburg, United States",
            27.77,
            -82.68,
        ),
        (
            "Hanover, Pennsylvania",
            "Hanover, Pennsylvania, United States",
            39.80,
            -76.98,
        ),
        ("Pekin, Illinois", "Pekin, United States", 40.57, -89.64),
        // A rare alternate name (one language's, one era's) never beats an own name.
        ("Fredericia", "Fredericia, Denmark", 55.57, 9.75),
        ("Salisbury", "Salisbury, United Kingdom", 51.07, -1.79),
        ("Alessandria", "Alessandria, Italy", 44.91, 8.61),
        ("Valence", "Valence, France", 44.93, 4.89),
        ("Puno", "Puno, Peru", -15.84, -70.02),
        ("Parys", "Parys, South Africa", -26.90, 27.46),
        // Own names: the most populous city of that name.
        ("Paris", "Paris, France", 48.85, 2.35),
        ("Paris, Texas", "Paris, United States", 33.66, -95.56),
        ("London, Ontario", "London, Canada", 42.98, -81.23),
        ("Athens", "Athens, Greece", 37.98, 23.73),
    ];
    assert_finds(&app, &cases).await;
}

#[tokio::test]
async fn names_in_every_script_geonames_lists_are_found() {
    let app = spawn_app(GeocoderKind::Gazetteer).await;
    let cases = [
        ("東京", "Tokyo, Japan", 35.69, 139.69),
        ("東京, Japan", "Tokyo, Japan", 35.69, 139.69),
        ("東京、Japan", "Tokyo, Japan", 35.69, 139.69),
        ("मुंबई", "Mumbai, India", 19.07, 72.88),
        ("Москва", "Moscow, Russia", 55.75, 37.62),
        ("МОСКВА", "Moscow, Russia", 55.75, 37.62),
        ("Санкт-Петербург", "Saint Petersburg, Russia", 59.94, 30.31),
        ("СПб", "Saint Petersburg, Russia", 59.94, 30.31),
        ("北京", "Beijing, China", 39.91, 116.40),
        ("서울", "Seoul, South Korea", 37.57, 126.98),
        ("القاهرة", "Cairo, Egypt", 30.06, 31.25),
        ("ירושלים", "Jerusalem, Israel", 31.77, 35.22),
        ("Αθήνα", "Athens, Greece", 37.98, 23.73),
        ("ΑΘΗΝΑ", "Athens, Greece", 37.98, 23.73),
        ("กรุงเทพมหานคร", "Bangkok, Thailand", 13.75, 100.50),
    ];
    assert_finds(&app, &cases).await;
    // Unknown in any script is still a 404 that names it.
    let (status, body) = app.locate("アトランティス").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        body["error"],
        "No coordinates found for location 'アトランティス'"
    );
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
        ("アトランティス".into(), 404),
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
