//! The benchmark jobs with openstack_sdk (sync API over its tokio runtime), configured from
//! the same OS_* variables: `--get ID`, `--count` (lazy iterator), `--collect`.
use openstack_sdk::OpenStack;
use openstack_sdk::api::block_storage::v3::snapshot::{get, list_detailed};
use openstack_sdk::api::{Pagination, Query, paged};
use openstack_sdk::config::CloudConfig;
use serde_json::Value;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cfg = CloudConfig::from_env().expect("OS_* configuration");
    let client = OpenStack::new(&cfg).expect("connect");
    match args.first().map(String::as_str) {
        Some("--get") => {
            let ep = get::Request::builder().id(args[1].clone()).build().expect("request");
            let v: Value = ep.query(&client).expect("get");
            println!("{}", v["id"].as_str().unwrap_or_default());
        }
        Some("--collect") => {
            let ep = list_detailed::Request::builder().build().expect("request");
            let all: Vec<Value> = paged(ep, Pagination::All).query(&client).expect("list");
            println!("{}", all.len());
        }
        _ => {
            let ep = list_detailed::Request::builder().build().expect("request");
            let pages = paged(ep, Pagination::All);
            let mut n = 0usize;
            for item in pages.iter::<_, Value>(&client) {
                item.expect("list");
                n += 1;
            }
            println!("{n}");
        }
    }
}
