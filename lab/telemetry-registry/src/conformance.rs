//! Holds observed telemetry (what an OTLP receiver got from the real
//! binaries) to the registry: every metric, span, span event, log and
//! resource attribute must be declared, with the declared instrument, unit,
//! kind and name, every required attribute present and every value of the
//! declared type (an enum's values only). Each check returns its problems in
//! words.

use crate::{Attribute, AttributeType, AttributeUse, Instrument, Registry, Requirement, SpanKind};

/// An observed attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Observed {
    Str(String),
    Int(i64),
    Double(f64),
    Bool(bool),
    /// An array of strings (`process.command_args`).
    StrArray(Vec<String>),
    /// Bytes, other arrays, maps: never declared here.
    Other(String),
}

impl Observed {
    /// The value as a span name or a Prometheus label shows it.
    pub fn text(&self) -> String {
        match self {
            Self::Str(s) | Self::Other(s) => s.clone(),
            Self::Int(i) => i.to_string(),
            Self::Double(d) => d.to_string(),
            Self::Bool(b) => b.to_string(),
            Self::StrArray(items) => format!("[{}]", items.join(", ")),
        }
    }
}

/// Observed attributes as (key, value) pairs.
pub type Attributes<'a> = [(&'a str, Observed)];

impl Registry {
    /// Problems of one metric point (or of a whole stream, its attributes being a point's).
    pub fn check_metric(
        &self,
        name: &str,
        instrument: Instrument,
        unit: &str,
        attributes: &Attributes,
    ) -> Vec<String> {
        let Some(metric) = self.metric(name) else {
            return vec![format!("metric {name} is not in the registry")];
        };
        let mut problems = Vec::new();
        if metric.instrument != instrument {
            problems.push(format!(
                "metric {name}: a {} where the registry says {}",
                instrument.as_str(),
                metric.instrument.as_str()
            ));
        }
        if metric.unit != unit {
            problems.push(format!(
                "metric {name}: unit {unit:?} where the registry says {:?}",
                metric.unit
            ));
        }
        problems.extend(self.check_attributes(
            &format!("metric {name}"),
            &metric.attributes,
            attributes,
        ));
        problems
    }

    /// Problems of one span and its events.
    pub fn check_span(
        &self,
        kind: SpanKind,
        name: &str,
        attributes: &Attributes,
        events: &[(&str, Vec<(&str, Observed)>)],
    ) -> Vec<String> {
        let value = |key: &str| {
            attributes
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.text())
        };
        let Some(span) = self.span(kind, name, value) else {
            return vec![format!(
                "{} span {name:?} matches no span of the registry",
                kind.as_str()
            )];
        };
        let here = format!("{} span {name:?} ({})", kind.as_str(), span.id);
        let mut problems = self.check_attributes(&here, &span.attributes, attributes);
        for (event_name, event_attributes) in events {
            match self.event(event_name) {
                Some(event) if span.events.contains(&event.name) => {
                    problems.extend(self.check_attributes(
                        &format!("{here}: event {event_name}"),
                        &event.attributes,
                        event_attributes,
                    ))
                }
                _ => problems.push(format!("{here}: event {event_name} is not declared on it")),
            }
        }
        problems
    }

    /// Problems of one log record's attributes.
    pub fn check_log(&self, attributes: &Attributes) -> Vec<String> {
        self.check_attributes("log record", &self.log_attributes, attributes)
    }

    /// Problems of one resource: its attributes against the registry's entities.
    pub fn check_resource(&self, attributes: &Attributes) -> Vec<String> {
        self.check_attributes("resource", &self.resource_attributes(), attributes)
    }

    fn check_attributes(
        &self,
        here: &str,
        declared: &[AttributeUse],
        observed: &Attributes,
    ) -> Vec<String> {
        let mut problems = Vec::new();
        for (key, value) in observed {
            if !declared.iter().any(|d| d.key == *key) {
                problems.push(format!("{here}: attribute {key} is not declared"));
            } else if let Err(e) = admits(&self.attributes[*key], value) {
                problems.push(format!("{here}: {key}: {e}"));
            }
        }
        for required in declared
            .iter()
            .filter(|d| d.requirement == Requirement::Required)
        {
            if !observed.iter().any(|(k, _)| *k == required.key) {
                problems.push(format!(
                    "{here}: required attribute {} is missing",
                    required.key
                ));
            }
        }
        problems
    }
}

fn admits(attribute: &Attribute, value: &Observed) -> Result<(), String> {
    let fits = match (&attribute.ty, value) {
        (AttributeType::String, Observed::Str(_))
        | (AttributeType::Int, Observed::Int(_))
        | (AttributeType::Double, Observed::Double(_) | Observed::Int(_))
        | (AttributeType::Boolean, Observed::Bool(_))
        | (AttributeType::StringArray, Observed::StrArray(_)) => true,
        (AttributeType::Enum(values), Observed::Str(_) | Observed::Int(_)) => {
            if !values.contains(&value.text()) {
                return Err(format!("{value:?} is none of the enum's values {values:?}"));
            }
            true
        }
        _ => false,
    };
    if fits {
        Ok(())
    } else {
        Err(format!("{value:?} is not of type {:?}", attribute.ty))
    }
}
