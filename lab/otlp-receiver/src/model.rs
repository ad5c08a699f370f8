//! What the receiver recorded, flattened for assertions: one row per span,
//! metric data point and log record, each carrying its resource and scope,
//! plus the query helpers the tests need.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use opentelemetry_proto::tonic::resource::v1::Resource as ProtoResource;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

/// How an export reached the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    Grpc,
    HttpProtobuf,
}

/// The three OTLP signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    Traces,
    Metrics,
    Logs,
}

/// An attribute value, simplified from `AnyValue`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(String),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(Vec<u8>),
    Array(Vec<Value>),
    Map(Attributes),
    /// A reference into a profiles string table (not used by traces, metrics or logs).
    StringIndex(i32),
    Empty,
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Int(number) => Some(*number),
            _ => None,
        }
    }

    fn from_proto(value: Option<&AnyValue>) -> Self {
        match value.and_then(|value| value.value.as_ref()) {
            None => Self::Empty,
            Some(any_value::Value::StringValue(text)) => Self::String(text.clone()),
            Some(any_value::Value::BoolValue(flag)) => Self::Bool(*flag),
            Some(any_value::Value::IntValue(number)) => Self::Int(*number),
            Some(any_value::Value::DoubleValue(number)) => Self::Double(*number),
            Some(any_value::Value::BytesValue(bytes)) => Self::Bytes(bytes.clone()),
            Some(any_value::Value::ArrayValue(array)) => Self::Array(
                array
                    .values
                    .iter()
                    .map(|value| Self::from_proto(Some(value)))
                    .collect(),
            ),
            Some(any_value::Value::KvlistValue(list)) => Self::Map(attributes(&list.values)),
            Some(any_value::Value::StringValueStrindex(index)) => Self::StringIndex(*index),
        }
    }
}

/// Strings print bare, so `to_string()` is the value as a user would read it.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::String(text) => f.write_str(text),
            Self::Bool(flag) => write!(f, "{flag}"),
            Self::Int(number) => write!(f, "{number}"),
            Self::Double(number) => write!(f, "{number}"),
            Self::Bytes(bytes) => write!(f, "{}", hex(bytes)),
            Self::Array(values) => {
                let items: Vec<String> = values.iter().map(ToString::to_string).collect();
                write!(f, "[{}]", items.join(", "))
            }
            Self::Map(map) => write!(f, "{map:?}"),
            Self::StringIndex(index) => write!(f, "strindex:{index}"),
            Self::Empty => Ok(()),
        }
    }
}

pub type Attributes = BTreeMap<String, Value>;

fn attributes(pairs: &[KeyValue]) -> Attributes {
    pairs
        .iter()
        .map(|pair| (pair.key.clone(), Value::from_proto(pair.value.as_ref())))
        .collect()
}

/// Lower-case hex, as trace and span ids are written in `traceparent`; empty bytes give "".
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn non_empty_hex(bytes: &[u8]) -> Option<String> {
    (!bytes.is_empty() && bytes.iter().any(|byte| *byte != 0)).then(|| hex(bytes))
}

/// The resource that sent a row.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub attributes: Attributes,
}

impl Resource {
    /// `service.name`, or "" when absent.
    pub fn service_name(&self) -> &str {
        self.get("service.name").unwrap_or_default()
    }

    /// A string attribute.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).and_then(Value::as_str)
    }
}

/// The instrumentation scope of a row.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusCode {
    Unset,
    Ok,
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub name: String,
    pub attributes: Attributes,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub resource: Arc<Resource>,
    pub scope: Arc<Scope>,
    pub transport: Transport,
    pub trace_id: String,
    pub span_id: String,
    /// `None` for a root span.
    pub parent_span_id: Option<String>,
    pub name: String,
    pub kind: SpanKind,
    pub attributes: Attributes,
    pub status: StatusCode,
    pub status_message: String,
    pub events: Vec<Event>,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
}

impl Span {
    pub fn service_name(&self) -> &str {
        self.resource.service_name()
    }

    /// A string attribute.
    pub fn attr_str(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).and_then(Value::as_str)
    }

    /// An integer attribute.
    pub fn attr_i64(&self, key: &str) -> Option<i64> {
        self.attributes.get(key).and_then(Value::as_i64)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Gauge,
    /// A sum; `monotonic` sums are counters.
    Sum {
        monotonic: bool,
    },
    Histogram,
    ExponentialHistogram,
    Summary,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PointValue {
    Int(i64),
    Double(f64),
    Histogram {
        count: u64,
        sum: Option<f64>,
        bounds: Vec<f64>,
        bucket_counts: Vec<u64>,
        /// Trace ids of the exemplars attached to the point.
        exemplar_trace_ids: Vec<String>,
    },
    /// Exponential histograms and summaries: only their count is kept.
    Count(u64),
}

impl PointValue {
    /// The value of a number point, or the count of a distribution.
    pub fn as_f64(&self) -> f64 {
        match self {
            Self::Int(number) => *number as f64,
            Self::Double(number) => *number,
            Self::Histogram { count, .. } | Self::Count(count) => *count as f64,
        }
    }
}

/// One data point of one metric in one export.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    pub resource: Arc<Resource>,
    pub scope: Arc<Scope>,
    pub transport: Transport,
    pub name: String,
    pub unit: String,
    pub description: String,
    pub kind: MetricKind,
    /// `AggregationTemporality` as its proto number (0 unspecified, 1 delta, 2 cumulative).
    pub temporality: i32,
    pub attributes: Attributes,
    pub value: PointValue,
    pub time_unix_nano: u64,
}

impl MetricPoint {
    pub fn service_name(&self) -> &str {
        self.resource.service_name()
    }

    /// The attribute set as sorted `key=value` strings: one entry per time series.
    pub fn series_key(&self) -> Vec<String> {
        self.attributes
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    pub resource: Arc<Resource>,
    pub scope: Arc<Scope>,
    pub transport: Transport,
    pub severity_number: i32,
    pub severity_text: String,
    pub body: String,
    pub attributes: Attributes,
    pub trace_id: Option<String>,
    pub span_id: Option<String>,
    pub time_unix_nano: u64,
}

impl LogRecord {
    pub fn service_name(&self) -> &str {
        self.resource.service_name()
    }
}

/// Everything received since the start (or the last [`clear`](crate::OtlpReceiver::clear)).
#[derive(Debug, Clone, Default)]
pub struct Received {
    pub spans: Vec<Span>,
    pub metrics: Vec<MetricPoint>,
    pub logs: Vec<LogRecord>,
    /// Export requests accepted, per signal and transport.
    pub requests: BTreeMap<(Signal, Transport), usize>,
    /// Export requests that arrived gzip-compressed (`grpc-encoding` or `content-encoding`).
    pub gzip_requests: usize,
}

fn resource_and_scope(
    resource: Option<&ProtoResource>,
    scope: Option<&InstrumentationScope>,
) -> (Arc<Resource>, Arc<Scope>) {
    let resource = Resource {
        attributes: resource
            .map(|resource| attributes(&resource.attributes))
            .unwrap_or_default(),
    };
    let scope = Scope {
        name: scope.map(|scope| scope.name.clone()).unwrap_or_default(),
        version: scope.map(|scope| scope.version.clone()).unwrap_or_default(),
    };
    (Arc::new(resource), Arc::new(scope))
}

impl Received {
    fn count_request(&mut self, signal: Signal, transport: Transport) {
        *self.requests.entry((signal, transport)).or_default() += 1;
    }

    pub(crate) fn add_traces(&mut self, request: &ExportTraceServiceRequest, transport: Transport) {
        self.count_request(Signal::Traces, transport);
        for resource_spans in &request.resource_spans {
            for scope_spans in &resource_spans.scope_spans {
                let (resource, scope) = resource_and_scope(
                    resource_spans.resource.as_ref(),
                    scope_spans.scope.as_ref(),
                );
                for span in &scope_spans.spans {
                    let status = span.status.as_ref();
                    self.spans.push(Span {
                        resource: resource.clone(),
                        scope: scope.clone(),
                        transport,
                        trace_id: hex(&span.trace_id),
                        span_id: hex(&span.span_id),
                        parent_span_id: non_empty_hex(&span.parent_span_id),
                        name: span.name.clone(),
                        kind: match span.kind {
                            1 => SpanKind::Internal,
                            2 => SpanKind::Server,
                            3 => SpanKind::Client,
                            4 => SpanKind::Producer,
                            5 => SpanKind::Consumer,
                            _ => SpanKind::Unspecified,
                        },
                        attributes: attributes(&span.attributes),
                        status: match status.map(|status| status.code) {
                            Some(1) => StatusCode::Ok,
                            Some(2) => StatusCode::Error,
                            _ => StatusCode::Unset,
                        },
                        status_message: status
                            .map(|status| status.message.clone())
                            .unwrap_or_default(),
                        events: span
                            .events
                            .iter()
                            .map(|event| Event {
                                name: event.name.clone(),
                                attributes: attributes(&event.attributes),
                            })
                            .collect(),
                        start_unix_nano: span.start_time_unix_nano,
                        end_unix_nano: span.end_time_unix_nano,
                    });
                }
            }
        }
    }

    pub(crate) fn add_metrics(
        &mut self,
        request: &ExportMetricsServiceRequest,
        transport: Transport,
    ) {
        self.count_request(Signal::Metrics, transport);
        for resource_metrics in &request.resource_metrics {
            for scope_metrics in &resource_metrics.scope_metrics {
                let (resource, scope) = resource_and_scope(
                    resource_metrics.resource.as_ref(),
                    scope_metrics.scope.as_ref(),
                );
                for metric in &scope_metrics.metrics {
                    let point = |kind, temporality, point_attributes: &[KeyValue], value, time| {
                        MetricPoint {
                            resource: resource.clone(),
                            scope: scope.clone(),
                            transport,
                            name: metric.name.clone(),
                            unit: metric.unit.clone(),
                            description: metric.description.clone(),
                            kind,
                            temporality,
                            attributes: attributes(point_attributes),
                            value,
                            time_unix_nano: time,
                        }
                    };
                    let number = |value: &Option<number_data_point::Value>| match value {
                        Some(number_data_point::Value::AsInt(number)) => PointValue::Int(*number),
                        Some(number_data_point::Value::AsDouble(number)) => {
                            PointValue::Double(*number)
                        }
                        None => PointValue::Int(0),
                    };
                    let points: Vec<MetricPoint> = match &metric.data {
                        None => Vec::new(),
                        Some(metric::Data::Gauge(gauge)) => gauge
                            .data_points
                            .iter()
                            .map(|p| {
                                let value = number(&p.value);
                                point(MetricKind::Gauge, 0, &p.attributes, value, p.time_unix_nano)
                            })
                            .collect(),
                        Some(metric::Data::Sum(sum)) => sum
                            .data_points
                            .iter()
                            .map(|p| {
                                let kind = MetricKind::Sum {
                                    monotonic: sum.is_monotonic,
                                };
                                let value = number(&p.value);
                                let temporality = sum.aggregation_temporality;
                                point(kind, temporality, &p.attributes, value, p.time_unix_nano)
                            })
                            .collect(),
                        Some(metric::Data::Histogram(histogram)) => histogram
                            .data_points
                            .iter()
                            .map(|p| {
                                let value = PointValue::Histogram {
                                    count: p.count,
                                    sum: p.sum,
                                    bounds: p.explicit_bounds.clone(),
                                    bucket_counts: p.bucket_counts.clone(),
                                    exemplar_trace_ids: p
                                        .exemplars
                                        .iter()
                                        .filter_map(|e| non_empty_hex(&e.trace_id))
                                        .collect(),
                                };
                                let temporality = histogram.aggregation_temporality;
                                let kind = MetricKind::Histogram;
                                point(kind, temporality, &p.attributes, value, p.time_unix_nano)
                            })
                            .collect(),
                        Some(metric::Data::ExponentialHistogram(histogram)) => histogram
                            .data_points
                            .iter()
                            .map(|p| {
                                let kind = MetricKind::ExponentialHistogram;
                                let temporality = histogram.aggregation_temporality;
                                let value = PointValue::Count(p.count);
                                point(kind, temporality, &p.attributes, value, p.time_unix_nano)
                            })
                            .collect(),
                        Some(metric::Data::Summary(summary)) => summary
                            .data_points
                            .iter()
                            .map(|p| {
                                let value = PointValue::Count(p.count);
                                let kind = MetricKind::Summary;
                                point(kind, 0, &p.attributes, value, p.time_unix_nano)
                            })
                            .collect(),
                    };
                    self.metrics.extend(points);
                }
            }
        }
    }

    pub(crate) fn add_logs(&mut self, request: &ExportLogsServiceRequest, transport: Transport) {
        self.count_request(Signal::Logs, transport);
        for resource_logs in &request.resource_logs {
            for scope_logs in &resource_logs.scope_logs {
                let (resource, scope) =
                    resource_and_scope(resource_logs.resource.as_ref(), scope_logs.scope.as_ref());
                for record in &scope_logs.log_records {
                    self.logs.push(LogRecord {
                        resource: resource.clone(),
                        scope: scope.clone(),
                        transport,
                        severity_number: record.severity_number,
                        severity_text: record.severity_text.clone(),
                        body: Value::from_proto(record.body.as_ref()).to_string(),
                        attributes: attributes(&record.attributes),
                        trace_id: non_empty_hex(&record.trace_id),
                        span_id: non_empty_hex(&record.span_id),
                        time_unix_nano: record.time_unix_nano,
                    });
                }
            }
        }
    }

    /// Every span of one trace.
    pub fn spans_in_trace(&self, trace_id: &str) -> Vec<&Span> {
        self.spans
            .iter()
            .filter(|span| span.trace_id == trace_id)
            .collect()
    }

    /// Every span sent by one service.
    pub fn spans_of(&self, service: &str) -> Vec<&Span> {
        self.spans
            .iter()
            .filter(|span| span.service_name() == service)
            .collect()
    }

    /// The distinct trace ids of all spans.
    pub fn trace_ids(&self) -> BTreeSet<&str> {
        self.spans
            .iter()
            .map(|span| span.trace_id.as_str())
            .collect()
    }

    /// The distinct `service.name`s across all three signals.
    pub fn service_names(&self) -> BTreeSet<&str> {
        let spans = self.spans.iter().map(Span::service_name);
        let metrics = self.metrics.iter().map(MetricPoint::service_name);
        let logs = self.logs.iter().map(LogRecord::service_name);
        spans.chain(metrics).chain(logs).collect()
    }

    /// Names of the metrics one service exported.
    pub fn metric_names(&self, service: &str) -> BTreeSet<&str> {
        self.metrics
            .iter()
            .filter(|point| point.service_name() == service)
            .map(|point| point.name.as_str())
            .collect()
    }

    /// Every data point of one metric of one service, over all exports.
    pub fn metric_points(&self, service: &str, name: &str) -> Vec<&MetricPoint> {
        self.metrics
            .iter()
            .filter(|point| point.service_name() == service && point.name == name)
            .collect()
    }

    /// The distinct attribute sets (time series) of one metric of one service, over all exports.
    pub fn metric_series(&self, service: &str, name: &str) -> BTreeSet<Vec<String>> {
        self.metric_points(service, name)
            .into_iter()
            .map(MetricPoint::series_key)
            .collect()
    }

    /// The latest value of the series of `name` whose attributes include all of `matching`
    /// (cumulative sums: the running total), summed over such series.
    pub fn latest_total(&self, service: &str, name: &str, matching: &[(&str, &str)]) -> f64 {
        let mut latest: BTreeMap<Vec<String>, (u64, f64)> = BTreeMap::new();
        for point in self.metric_points(service, name) {
            let matches = matching.iter().all(|(key, value)| {
                point
                    .attributes
                    .get(*key)
                    .is_some_and(|actual| actual.to_string() == *value)
            });
            if !matches {
                continue;
            }
            let entry = latest.entry(point.series_key()).or_insert((0, 0.0));
            if point.time_unix_nano >= entry.0 {
                *entry = (point.time_unix_nano, point.value.as_f64());
            }
        }
        latest.values().map(|(_, value)| value).sum()
    }

    /// Log records that carry this trace id.
    pub fn logs_in_trace(&self, trace_id: &str) -> Vec<&LogRecord> {
        self.logs
            .iter()
            .filter(|log| log.trace_id.as_deref() == Some(trace_id))
            .collect()
    }

    /// Every log record sent by one service.
    pub fn logs_of(&self, service: &str) -> Vec<&LogRecord> {
        self.logs
            .iter()
            .filter(|log| log.service_name() == service)
            .collect()
    }

    /// Export requests accepted for a signal, over both transports.
    pub fn request_count(&self, signal: Signal) -> usize {
        self.requests
            .iter()
            .filter(|((s, _), _)| *s == signal)
            .map(|(_, count)| count)
            .sum()
    }

    /// Export requests accepted over one transport, all signals.
    pub fn request_count_over(&self, transport: Transport) -> usize {
        self.requests
            .iter()
            .filter(|((_, t), _)| *t == transport)
            .map(|(_, count)| count)
            .sum()
    }

    /// A one-line account of what arrived, for failure messages.
    pub fn summary(&self) -> String {
        let per_service: Vec<String> = self
            .service_names()
            .into_iter()
            .map(|service| {
                format!(
                    "{service}: {} spans, {} metric points, {} logs",
                    self.spans_of(service).len(),
                    self.metrics
                        .iter()
                        .filter(|p| p.service_name() == service)
                        .count(),
                    self.logs_of(service).len()
                )
            })
            .collect();
        format!(
            "export requests {:?}; {}",
            self.requests,
            if per_service.is_empty() {
                "nothing received".to_owned()
            } else {
                per_service.join("; ")
            }
        )
    }
}
