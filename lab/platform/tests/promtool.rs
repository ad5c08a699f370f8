//! promtool (Debian 12: Prometheus 2.42) on the configs it can parse: the
//! local config, the rule files and the rule unit tests. prometheus.yml uses
//! 3.x-only keys (`otlp:`) and is checked structurally in consistency.rs.
//! Skips only when promtool is not on PATH.

use std::io::Write;
use std::process::Command;

use platform::{repo_files, repo_root};

fn promtool(args: &[&str]) -> Option<(bool, String)> {
    let output = match Command::new("promtool")
        .args(args)
        .current_dir(repo_root())
        .output()
    {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => panic!("promtool: {e}"),
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Some((output.status.success(), text))
}

#[test]
fn promtool_accepts_the_local_config_the_rules_and_their_unit_tests() {
    let rule_files = repo_files("prometheus/rules", "yml");
    let test_files = repo_files("prometheus/tests", "yml");
    let mut runs: Vec<Vec<String>> = vec![
        vec![
            "check".into(),
            "config".into(),
            "prometheus/prometheus-local.yml".into(),
        ],
        [vec!["check".into(), "rules".into()], rule_files].concat(),
    ];
    for test in test_files {
        runs.push(vec!["test".into(), "rules".into(), test]);
    }
    for args in runs {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let Some((ok, text)) = promtool(&args) else {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED promtool checks: no `promtool` on PATH"
            );
            return;
        };
        assert!(ok, "promtool {} failed:\n{text}", args.join(" "));
    }
}

#[test]
fn every_rule_has_a_unit_test() {
    let tests: String = repo_files("prometheus/tests", "yml")
        .iter()
        .map(|f| std::fs::read_to_string(repo_root().join(f)).unwrap())
        .collect();
    for rule in platform::rules().iter().filter(|r| r.is_alert) {
        assert!(
            tests.contains(&format!("alertname: {}\n", rule.name)),
            "alert {} has no promtool test",
            rule.name
        );
    }
    for rule in platform::rules().iter().filter(|r| !r.is_alert) {
        assert!(
            tests.contains(&format!("expr: {}\n", rule.name))
                || tests.contains(&format!("expr: {}{{", rule.name)),
            "recording rule {} has no promtool test",
            rule.name
        );
    }
}
