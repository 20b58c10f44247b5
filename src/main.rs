use std::process::ExitCode;

use protected_api::{api, settings, startup::Application, telemetry};

const USAGE: &str = "usage: protected-api            run the service (settings: settings/ and the environment)
       protected-api openapi [--yaml]   print the OpenAPI spec";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] => serve().await,
        ["openapi"] => {
            println!("{}", api::service().spec());
            ExitCode::SUCCESS
        }
        ["openapi", "--yaml"] => {
            print!("{}", api::service().spec_yaml());
            ExitCode::SUCCESS
        }
        ["-h" | "--help"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

async fn serve() -> ExitCode {
    let (sources, settings) = match settings::load() {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(settings.log_format);
    let application = match Application::build(&settings).await {
        Ok(application) => application,
        Err(error) => {
            tracing::error!("{error}");
            return ExitCode::from(1);
        }
    };
    tracing::info!(
        address = %application.address(),
        profile = %sources.profile,
        issuer = %settings.issuer(),
        audience = %settings.audience(),
        "listening on http://{}/ (Swagger UI at /docs)",
        application.address()
    );
    match application.run_until_stopped().await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!("server error: {error}");
            ExitCode::from(1)
        }
    }
}
