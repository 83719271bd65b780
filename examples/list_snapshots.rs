//! The smallest useful tool: list every snapshot (detail view) of the project configured by
//! the `OS_*` variables, one line each, lazily page by page. Also what the benchmarks run.
//!
//! ```sh
//! source admin.env
//! cargo run --release --example list_snapshots               # id, status, size, name
//! cargo run --release --example list_snapshots -- --count    # the number, listing lazily
//! cargo run --release --example list_snapshots -- --collect  # the number, collecting first
//! cargo run --release --example list_snapshots -- --get ID   # one snapshot's id
//! ```

use std::io::Write;

use cinder_snapshots::snapshots::{self, ListOpts};
use cinder_snapshots::{Error, ServiceClient};

fn run(client: &ServiceClient, args: &[String]) -> Result<String, Error> {
    match args.first().map(String::as_str) {
        Some("--get") => Ok(snapshots::get(client, args.get(1).map_or("", String::as_str))?.id),
        Some("--collect") => Ok(snapshots::list_detail(client, &ListOpts::new())?.all()?.len().to_string()),
        Some("--count") => {
            let mut n = 0usize;
            for snap in snapshots::list_detail(client, &ListOpts::new())? {
                snap?;
                n += 1;
            }
            Ok(n.to_string())
        }
        _ => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for snap in snapshots::list_detail(client, &ListOpts::new())? {
                let s = snap?;
                let _ = writeln!(out, "{} {} {} {}", s.id, s.status, s.size, s.name.as_deref().unwrap_or("-"));
            }
            Ok(String::new())
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match ServiceClient::from_env().and_then(|client| run(&client, &args)) {
        Ok(line) if line.is_empty() => {}
        Ok(line) => println!("{line}"),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
