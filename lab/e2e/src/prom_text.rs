//! A strict parser for the Prometheus text exposition format (version 0.0.4).
//!
//! `prometheus-parse`, the crate that exists for this, silently skips lines it
//! cannot read and splits label values on commas, so a malformed `/metrics`
//! would pass through it; here every line must parse, every sample must belong
//! to its declared family, series are unique and histograms are consistent.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

pub type Labels = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The sample's own name (`x_bucket`, `x_sum`, `x_count` for a histogram `x`).
    pub name: String,
    pub labels: Labels,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: String,
    /// `counter`, `gauge`, `histogram`, `summary` or `untyped`.
    pub kind: String,
    pub help: Option<String>,
    pub samples: Vec<Sample>,
}

/// One histogram series: the labels without `le`, its buckets, `_sum` and `_count`.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSeries {
    pub labels: Labels,
    /// `(le, cumulative count)` in exposition order; the last `le` is `+Inf`.
    pub buckets: Vec<(f64, f64)>,
    pub sum: f64,
    pub count: f64,
}

impl Family {
    /// Distinct label sets, ignoring `le`/`quantile`: one per time series.
    pub fn series(&self) -> BTreeSet<Labels> {
        self.samples
            .iter()
            .map(|sample| {
                let mut labels = sample.labels.clone();
                labels.remove("le");
                labels.remove("quantile");
                labels
            })
            .collect()
    }

    /// The histogram series of a `histogram` family (already checked consistent by [`parse`]).
    pub fn histograms(&self) -> Vec<HistogramSeries> {
        self.series()
            .into_iter()
            .map(|labels| {
                let mut series = HistogramSeries {
                    labels,
                    buckets: Vec::new(),
                    sum: f64::NAN,
                    count: f64::NAN,
                };
                for sample in &self.samples {
                    let mut own = sample.labels.clone();
                    let le = own.remove("le");
                    if own != series.labels {
                        continue;
                    }
                    match sample.name.strip_prefix(&self.name) {
                        Some("_bucket") => {
                            let le = le.as_deref().map_or(Ok(f64::NAN), parse_value);
                            series.buckets.push((le.unwrap_or(f64::NAN), sample.value));
                        }
                        Some("_sum") => series.sum = sample.value,
                        Some("_count") => series.count = sample.value,
                        _ => {}
                    }
                }
                series
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// The families of an exposition, by family name.
pub fn parse(text: &str) -> Result<BTreeMap<String, Family>, ParseError> {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    let mut seen_series: BTreeSet<(String, Labels)> = BTreeSet::new();
    // Families whose samples ended (another family started): a sample for them later is an error.
    let mut closed: BTreeSet<String> = BTreeSet::new();
    let mut current: Option<String> = None;
    for (index, raw) in text.lines().enumerate() {
        let line_number = index + 1;
        let error = |message: String| ParseError {
            line: line_number,
            message,
        };
        let line = raw.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.trim_start().splitn(3, ' ');
            let keyword = words.next().unwrap_or_default();
            if keyword != "HELP" && keyword != "TYPE" {
                continue; // a plain comment
            }
            let name = words.next().unwrap_or_default();
            if !is_metric_name(name) {
                return Err(error(format!("bad metric name '{name}' in # {keyword}")));
            }
            let rest = words.next().unwrap_or_default();
            let family = families.entry(name.to_owned()).or_insert_with(|| Family {
                name: name.to_owned(),
                kind: "untyped".to_owned(),
                help: None,
                samples: Vec::new(),
            });
            if !family.samples.is_empty() || closed.contains(name) {
                return Err(error(format!("# {keyword} for '{name}' after its samples")));
            }
            if keyword == "HELP" {
                if family.help.is_some() {
                    return Err(error(format!("second # HELP for '{name}'")));
                }
                family.help = Some(unescape(rest, false).map_err(error)?);
            } else {
                if !matches!(
                    rest,
                    "counter" | "gauge" | "histogram" | "summary" | "untyped"
                ) {
                    return Err(error(format!("unknown type '{rest}' for '{name}'")));
                }
                if family.kind != "untyped" {
                    return Err(error(format!("second # TYPE for '{name}'")));
                }
                family.kind = rest.to_owned();
            }
            continue;
        }
        let sample = parse_sample(line).map_err(error)?;
        let family_name = family_of(&sample.name, &families);
        if closed.contains(&family_name) {
            return Err(error(format!(
                "sample '{}' of family '{family_name}' after another family",
                sample.name
            )));
        }
        if current.as_deref() != Some(family_name.as_str()) {
            if let Some(previous) = current.replace(family_name.clone()) {
                closed.insert(previous);
            }
        }
        if !seen_series.insert((sample.name.clone(), sample.labels.clone())) {
            return Err(error(format!(
                "duplicate series {} {:?}",
                sample.name, sample.labels
            )));
        }
        let family = families
            .entry(family_name.clone())
            .or_insert_with(|| Family {
                name: family_name.clone(),
                kind: "untyped".to_owned(),
                help: None,
                samples: Vec::new(),
            });
        family.samples.push(sample);
    }
    for family in families.values() {
        check_family(family)?;
    }
    Ok(families)
}

/// The family a sample name belongs to: a declared histogram/summary for its suffixed names.
fn family_of(sample: &str, families: &BTreeMap<String, Family>) -> String {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = sample.strip_suffix(suffix) {
            if let Some(family) = families.get(base) {
                let fits = match suffix {
                    "_bucket" => family.kind == "histogram",
                    _ => family.kind == "histogram" || family.kind == "summary",
                };
                if fits {
                    return base.to_owned();
                }
            }
        }
    }
    sample.to_owned()
}

fn check_family(family: &Family) -> Result<(), ParseError> {
    let fail = |message: String| ParseError { line: 0, message };
    for sample in &family.samples {
        let suffix = sample.name.strip_prefix(&family.name).unwrap_or("?");
        let allowed: &[&str] = match family.kind.as_str() {
            "histogram" => &["_bucket", "_sum", "_count"],
            "summary" => &["", "_sum", "_count"],
            _ => &[""],
        };
        if !allowed.contains(&suffix) {
            return Err(fail(format!(
                "sample '{}' does not fit {} family '{}'",
                sample.name, family.kind, family.name
            )));
        }
        // NaN fails this too: a counter is a number, never below zero.
        if family.kind == "counter" && sample.value.partial_cmp(&0.0).is_none_or(|o| o.is_lt()) {
            return Err(fail(format!("counter {} is {}", sample.name, sample.value)));
        }
        if suffix == "_bucket" && !sample.labels.contains_key("le") {
            return Err(fail(format!("bucket of {} without le", family.name)));
        }
    }
    if family.kind != "histogram" {
        return Ok(());
    }
    for series in family.histograms() {
        let where_ = format!("histogram {} {:?}", family.name, series.labels);
        let Some((last_le, last_count)) = series.buckets.last().copied() else {
            return Err(fail(format!("{where_} has no buckets")));
        };
        if last_le != f64::INFINITY {
            return Err(fail(format!("{where_} does not end with le=\"+Inf\"")));
        }
        if series.buckets.windows(2).any(|w| {
            w[0].0.partial_cmp(&w[1].0) != Some(std::cmp::Ordering::Less) || w[1].1 < w[0].1
        }) {
            return Err(fail(format!(
                "{where_}: le must increase and counts must not decrease"
            )));
        }
        if series.count.is_nan() || series.sum.is_nan() {
            return Err(fail(format!("{where_} lacks _count or _sum")));
        }
        if series.count != last_count {
            return Err(fail(format!(
                "{where_}: _count {} != +Inf bucket {last_count}",
                series.count
            )));
        }
    }
    Ok(())
}

fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// HELP text escapes `\\` and `\n`; label values also `\"`.
fn unescape(text: &str, quotes: bool) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if quotes => out.push('"'),
            other => {
                return Err(format!(
                    "bad escape \\{}",
                    other.map(String::from).unwrap_or_default()
                ))
            }
        }
    }
    Ok(out)
}

fn parse_value(text: &str) -> Result<f64, String> {
    match text {
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => text
            .parse::<f64>()
            .ok()
            .filter(|value| value.is_finite())
            .ok_or_else(|| format!("bad value '{text}'")),
    }
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line
        .find(['{', ' ', '\t'])
        .ok_or_else(|| format!("no value in '{line}'"))?;
    let name = &line[..name_end];
    if !is_metric_name(name) {
        return Err(format!("bad metric name '{name}'"));
    }
    let mut rest = &line[name_end..];
    let mut labels = Labels::new();
    if let Some(after_brace) = rest.strip_prefix('{') {
        rest = after_brace;
        loop {
            rest = rest.trim_start();
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            let (label, after_eq) = rest
                .split_once('=')
                .ok_or_else(|| format!("label without '=' in '{line}'"))?;
            let label = label.trim();
            if !is_label_name(label) {
                return Err(format!("bad label name '{label}'"));
            }
            let quoted = after_eq
                .strip_prefix('"')
                .ok_or_else(|| format!("unquoted value of label '{label}'"))?;
            let mut end = None;
            let mut escaped = false;
            for (i, c) in quoted.char_indices() {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => {
                        end = Some(i);
                        break;
                    }
                    _ => {}
                }
            }
            let end = end.ok_or_else(|| format!("unterminated value of label '{label}'"))?;
            let value = unescape(&quoted[..end], true)?;
            if labels.insert(label.to_owned(), value).is_some() {
                return Err(format!("label '{label}' twice"));
            }
            rest = quoted[end + 1..].trim_start();
            if let Some(after) = rest.strip_prefix(',') {
                rest = after;
            } else if !rest.starts_with('}') {
                return Err(format!("expected ',' or '}}' after label '{label}'"));
            }
        }
    }
    let mut fields = rest.split_whitespace();
    let value = parse_value(
        fields
            .next()
            .ok_or_else(|| format!("no value in '{line}'"))?,
    )?;
    if let Some(timestamp) = fields.next() {
        timestamp
            .parse::<i64>()
            .map_err(|_| format!("bad timestamp '{timestamp}'"))?;
    }
    if let Some(extra) = fields.next() {
        return Err(format!("unexpected '{extra}' after the value"));
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"# HELP http_server_request_duration_seconds Duration of HTTP server requests.
# TYPE http_server_request_duration_seconds histogram
http_server_request_duration_seconds_bucket{http_route="/",le="0.1"} 1
http_server_request_duration_seconds_bucket{http_route="/",le="1"} 3
http_server_request_duration_seconds_bucket{http_route="/",le="+Inf"} 3
http_server_request_duration_seconds_sum{http_route="/"} 0.7
http_server_request_duration_seconds_count{http_route="/"} 3
# TYPE incoming_requests_total counter
incoming_requests_total{otel_scope_name="iss-distance-app"} 3
# TYPE target_info gauge
target_info{process_command_args="[\"a, b\", \"c=d\"]",service_name="gateway"} 1
"#;

    fn error_of(text: &str) -> String {
        parse(text).expect_err("must be rejected").message
    }

    #[test]
    fn a_well_formed_exposition_is_read_with_escaped_commas_and_quotes_in_labels() {
        let families = parse(GOOD).unwrap();
        let histogram = &families["http_server_request_duration_seconds"];
        assert_eq!(histogram.kind, "histogram");
        assert_eq!(
            histogram.help.as_deref(),
            Some("Duration of HTTP server requests.")
        );
        let series = histogram.histograms();
        assert_eq!(series.len(), 1);
        assert_eq!(
            series[0].buckets,
            [(0.1, 1.0), (1.0, 3.0), (f64::INFINITY, 3.0)]
        );
        assert_eq!((series[0].sum, series[0].count), (0.7, 3.0));
        assert_eq!(families["incoming_requests_total"].samples[0].value, 3.0);
        let info = &families["target_info"].samples[0].labels;
        assert_eq!(info["process_command_args"], r#"["a, b", "c=d"]"#);
        assert_eq!(info["service_name"], "gateway");
    }

    #[test]
    fn malformed_lines_are_errors_not_skipped() {
        assert!(error_of("x{a=\"1} 1\n").contains("unterminated"));
        assert!(error_of("x{a=1} 1\n").contains("unquoted"));
        assert!(error_of("x 1 2 3\n").contains("unexpected"));
        assert!(error_of("x one\n").contains("bad value"));
        assert!(error_of("9x 1\n").contains("bad metric name"));
        assert!(error_of("x{a=\"1\",a=\"2\"} 1\n").contains("twice"));
        assert!(error_of("# TYPE x countr\nx 1\n").contains("unknown type"));
    }

    #[test]
    fn structural_mistakes_are_errors() {
        assert!(error_of("x{a=\"1\"} 1\nx{a=\"1\"} 2\n").contains("duplicate"));
        assert!(error_of("x 1\ny 1\nx{a=\"2\"} 1\n").contains("after another family"));
        assert!(error_of("x 1\n# TYPE x gauge\n").contains("after its samples"));
        assert!(error_of("# TYPE c counter\nc -1\n").contains("counter"));
        let no_inf = "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n";
        assert!(error_of(no_inf).contains("+Inf"));
        let wrong_count = "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n";
        assert!(error_of(wrong_count).contains("_count"));
        let decreasing = "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n";
        assert!(error_of(decreasing).contains("must not decrease"));
        let no_sum = "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n";
        assert!(error_of(no_sum).contains("_sum"));
        assert!(error_of("# TYPE h histogram\nh 1\n").contains("does not fit"));
    }
}
