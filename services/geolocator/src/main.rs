use geolocator::{startup, Config, SERVICE};
use std::process::ExitCode;

#[actix_web::main]
async fn main() -> ExitCode {
    service_common::run_service(SERVICE, Config::from_env, startup::build).await
}
