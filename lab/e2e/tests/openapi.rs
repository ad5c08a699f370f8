//! Every JSON API driven from its own OpenAPI document by Schemathesis
//! (PyPI `schemathesis`, the `st` command): the offline stack's gateway,
//! geolocator and iss-distance each serve `/openapi.json`, and
//! `st run --checks all` generates valid and invalid requests from it. It
//! fails on any 5xx, any response that does not match the documented schema
//! or status codes, valid input refused and invalid input accepted.
//!
//! Needs the binaries built (`cargo build --workspace --bins`) and `st`
//! installed (`scripts/install-test-deps.sh`).

use e2e::StackBuilder;
use std::process::Command;

/// Fixed, so a failure reproduces; enough examples to reach the edges of each parameter.
const SEED: &str = "20261202";
const MAX_EXAMPLES: &str = "60";

#[tokio::test]
async fn every_json_api_conforms_to_its_openapi_document_under_schemathesis() {
    let stack = StackBuilder::new("openapi").start().await;
    for (service, process) in [
        ("gateway", &stack.gateway),
        ("geolocator", &stack.geolocator),
        ("iss-distance", &stack.iss_distance),
    ] {
        let document_url = format!("{}openapi.json", process.url());
        let document: serde_json::Value = reqwest::get(&document_url)
            .await
            .and_then(reqwest::Response::error_for_status)
            .unwrap_or_else(|error| panic!("{service} serves /openapi.json: {error}"))
            .json()
            .await
            .expect("the document is JSON");
        assert_eq!(document["openapi"], "3.1.0", "{service}");
        assert_eq!(document["info"]["title"], service);

        let output = tokio::task::spawn_blocking(move || {
            Command::new("st")
                // Schemathesis writes its cache (.schemathesis/) where it runs: keep it out of the tree.
                .current_dir(testkit::target_dir())
                .args(["run", &document_url, "--checks", "all"])
                .args(["--max-examples", MAX_EXAMPLES, "--seed", SEED])
                .args(["--no-color", "--suppress-health-check", "all"])
                .output()
        })
        .await
        .unwrap()
        .unwrap_or_else(|error| {
            panic!(
                "cannot run `st` (Schemathesis; scripts/install-test-deps.sh installs it): {error}"
            )
        });
        let report = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "Schemathesis found problems in {service}:\n{report}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(report.contains("No issues found"), "{service}:\n{report}");
    }
}
