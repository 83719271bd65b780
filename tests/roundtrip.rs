//! Property tests (bounded, deterministic): whatever goes into `ListOpts`, an id or a metadata
//! key is exactly what the server decodes from the request it receives.

mod rawhttp;

use std::io::Write;
use std::net::TcpListener;
use std::sync::mpsc;

use cinder_snapshots::snapshots::{self, ListOpts, SnapshotStatus};
use cinder_snapshots::{Microversion, MicroversionPolicy, ServiceClient};

const CASES: usize = 300;

/// xorshift64*: a fixed seed, so every run tries the same cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A string of 1..=12 characters from a pool full of characters that need encoding.
    fn text(&mut self, pool: &[char]) -> String {
        let len = 1 + self.below(12);
        (0..len).map(|_| pool[self.below(pool.len())]).collect()
    }
}

fn pool(extra: &str) -> Vec<char> {
    let mut p: Vec<char> = "aZ09-._~ &=?#%+;:,@!$'()*[]{}\"<>^`|éß日本🦀".chars().collect();
    p.extend(extra.chars());
    p
}

/// A server answering every request with an empty list (or a snapshot for a show), handing
/// each request target to the test.
fn server() -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let Some(head) = rawhttp::read_head(&mut stream) else { continue };
            let target = head.split(' ').nth(1).unwrap_or_default().to_owned();
            let body = if target.contains("/snapshots?") || target.ends_with("/snapshots") {
                r#"{"snapshots": []}"#.to_owned()
            } else if target.contains("/metadata/") {
                r#"{"meta": {}}"#.to_owned()
            } else {
                r#"{"snapshot": {"id": "x", "volume_id": "v", "status": "available"}}"#.to_owned()
            };
            let _ = tx.send(target);
            let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    (url, rx)
}

fn client(url: &str) -> ServiceClient {
    ServiceClient::with_token(&format!("{url}/v3/p"), "tok")
        .unwrap()
        .microversion(MicroversionPolicy::Pinned(Microversion::new(3, 71)))
        .build()
        .unwrap()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() + 1 {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn list_opts_reach_the_server_unchanged() {
    let (url, rx) = server();
    let c = client(&url);
    let mut rng = Rng(0x5eed_cafe_f00d_0001);
    let p = pool("/\\");
    for case in 0..CASES {
        let (key, value) = (rng.text(&p), rng.text(&p));
        let opts = ListOpts::new()
            .name(rng.text(&p))
            .volume_id(rng.text(&p))
            .name_like(rng.text(&p))
            .description_like(rng.text(&p))
            .status(SnapshotStatus::Other(rng.text(&p).to_ascii_lowercase()))
            .metadata(key.clone(), value.clone())
            .project_id(rng.text(&p))
            .limit(rng.below(1000) as u32 + 1);
        snapshots::list(&c, &opts).unwrap().for_each(|s| drop(s.unwrap()));
        let target = rx.recv().unwrap();
        let query = target.split_once('?').map(|(_, q)| q).unwrap_or_default();
        assert!(!query.contains(' ') && !query.contains('#'), "case {case}: unencoded characters in {query}");
        let got: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        let want = cinder_snapshots::snapshots::ToListQuery::to_query(&opts, Microversion::new(3, 71)).unwrap();
        assert_eq!(got, want, "case {case}: {target}");
        // And the metadata filter is the JSON of the map.
        let sent: std::collections::BTreeMap<String, String> =
            serde_json::from_str(&got.iter().find(|(k, _)| k == "metadata").unwrap().1).unwrap();
        assert_eq!(sent, std::collections::BTreeMap::from([(key, value)]), "case {case}");
    }
}

#[test]
fn ids_and_keys_are_one_segment() {
    let (url, rx) = server();
    let c = client(&url);
    let mut rng = Rng(0x5eed_cafe_f00d_0002);
    let p = pool("");
    for case in 0..CASES {
        let id = rng.text(&p);
        if id == "." || id == ".." {
            continue;
        }
        snapshots::get(&c, &id).unwrap();
        let target = rx.recv().unwrap();
        let segment = target.strip_prefix("/v3/p/snapshots/").unwrap_or_else(|| panic!("case {case}: {target}"));
        assert!(!segment.contains('/'), "case {case}: {target}");
        assert_eq!(percent_decode(segment), id, "case {case}");

        // Metadata keys: ASCII letters, digits and "-_:. " only.
        let key: String = (0..1 + rng.below(10)).map(|_| "aZ9-_:. ".as_bytes()[rng.below(8)] as char).collect();
        if key.trim_matches('.').is_empty() {
            continue;
        }
        let _ = snapshots::get_metadata_key(&c, &id, &key);
        let target = rx.recv().unwrap();
        let (id_part, key_part) = target.strip_prefix("/v3/p/snapshots/").unwrap().split_once("/metadata/").unwrap();
        assert_eq!((percent_decode(id_part), percent_decode(key_part)), (id.clone(), key.clone()), "case {case}");
    }
}
