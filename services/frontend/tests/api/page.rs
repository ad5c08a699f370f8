//! The page rendered directly, for what a request through the app cannot set
//! up: a trace id, with and without a Grafana to link it to.

use super::html::{attribute, elements, text};
use frontend::page::{render, Outcome, Trace};
use url::Url;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

#[test]
fn user_text_is_shown_as_text_in_the_form_and_in_errors() {
    let typed = "<b>x</b> & \"quotes\"";
    let page = render(
        typed,
        &Outcome::Error(format!("No coordinates found for location '{typed}'")),
        None,
    )
    .unwrap();
    assert!(!elements(&page).contains(&"b".to_owned()), "{page}");
    assert_eq!(
        attribute(&page, "location", "value").as_deref(),
        Some(typed)
    );
    assert_eq!(
        text(&page, "error").unwrap(),
        format!("No coordinates found for location '{typed}'")
    );
}

#[test]
fn the_trace_id_links_to_grafana_when_there_is_one() {
    let grafana = Url::parse("http://127.0.0.1:3000/").unwrap();
    let trace = Trace::new(TRACE_ID.to_owned(), Some(&grafana));
    let page = render("x", &Outcome::Form, Some(&trace)).unwrap();
    assert_eq!(text(&page, "trace-id").as_deref(), Some(TRACE_ID));
    let href = attribute(&page, "trace-link", "href").expect("a trace link");
    assert!(
        href.starts_with("http://127.0.0.1:3000/explore?schemaVersion=1&orgId=1&panes="),
        "{href}"
    );
    assert!(href.contains(TRACE_ID), "{href}");
    assert_eq!(
        text(&page, "trace-link").as_deref(),
        Some("open in Grafana")
    );
}

#[test]
fn without_grafana_the_trace_id_is_shown_without_a_link() {
    let trace = Trace::new(TRACE_ID.to_owned(), None);
    let page = render("x", &Outcome::Form, Some(&trace)).unwrap();
    assert_eq!(text(&page, "trace-id").as_deref(), Some(TRACE_ID));
    assert!(!elements(&page).contains(&"a".to_owned()), "{page}");
    assert!(!page.contains("Grafana"), "{page}");
}
