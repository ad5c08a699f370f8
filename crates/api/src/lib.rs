//! The stack's HTTP contract, in one place: the JSON bodies the services
//! send each other and the browser, and the query parameters they accept.
//!
//! Each service serializes these types and its callers deserialize the same
//! types, so a field renamed on one side fails to compile on the other.
//! Query parameters are validating newtypes: a handler that receives a
//! [`CoordinatesQuery`] holds finite, in-range degrees and nothing else.

mod bodies;
mod query;

pub use bodies::{
    Distance, ErrorBody, GatewayAnswer, IssPosition, OrbitalElements, Place, PlaceSource,
    PositionSource,
};
pub use query::{
    describe_rejected_query, CoordinatesQuery, Latitude, LocationQuery, LocationText, Longitude,
    PlaceDistanceQuery,
};
