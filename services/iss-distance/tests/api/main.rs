//! Black-box tests of iss-distance: the real app on port 0, the ISS API replaced by wiremock.

mod distance;
mod failures;
mod health;
mod helpers;
mod openapi;
mod properties;
mod tle_refresh;
