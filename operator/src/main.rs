//! ferrolb's operator: allocates LoadBalancer IPs from IPAddressPools and writes them into
//! Service status. `ferrolb-operator crds` prints the CustomResourceDefinitions of the
//! metallb.io API, generated from the types in `ferrolb-crds`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("crds") => match ferrolb_crds::manifest::crds_yaml() {
            Ok(yaml) => {
                print!("{yaml}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("ferrolb-operator: {e}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("usage: ferrolb-operator crds");
            ExitCode::from(2)
        }
    }
}
