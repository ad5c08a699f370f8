//! Black-box tests of geolocator: the real app on port 0, Nominatim replaced by wiremock.

mod gazetteer;
mod helpers;
mod nominatim;
mod openapi;
mod properties;
