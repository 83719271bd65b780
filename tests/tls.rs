//! TLS against a real local server whose certificate is signed by a CA made in the test:
//! verification is on by default, a CA bundle makes it pass, `insecure` is opt-in.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cinder_snapshots::snapshots;
use cinder_snapshots::{Error, Microversion, MicroversionPolicy, ServiceClient, ServiceClientBuilder, TransportErrorKind};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const SNAPSHOT: &str = r#"{"snapshot": {"id": "da89784d-f5b3-463b-b79a-e0d97710ff99", "created_at": "2026-11-23T16:42:50.832291", "updated_at": null, "name": "tls", "description": null, "volume_id": "72c062d8-37e8-4eec-812d-fd9c1bca6bb4", "status": "available", "size": 1, "metadata": {}}}"#;

struct TlsServer {
    port: u16,
    ca_pem: String,
    served: Arc<AtomicUsize>,
}

/// A CA, a certificate for `localhost` signed by it, and an HTTPS server answering every
/// request with one snapshot.
fn tls_server() -> TlsServer {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "cinder-snapshots test CA");
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap().signed_by(&leaf_key, &issuer).unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = Arc::new(AtomicUsize::new(0));
    let counter = served.clone();
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { return };
            let config = config.clone();
            let counter = counter.clone();
            std::thread::spawn(move || {
                let Ok(conn) = rustls::ServerConnection::new(config) else { return };
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match tls.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return, // the client refused the certificate
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{SNAPSHOT}",
                    SNAPSHOT.len()
                );
                let _ = tls.write_all(reply.as_bytes());
                let _ = tls.flush();
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    TlsServer { port, ca_pem: ca.pem(), served }
}

fn builder(server: &TlsServer) -> ServiceClientBuilder {
    ServiceClient::with_token(&format!("https://localhost:{}/v3/p", server.port), "tok-tls")
        .unwrap()
        .microversion(MicroversionPolicy::Pinned(Microversion::new(3, 71)))
}

fn temp_file(name: &str, content: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("cinder-snapshots-{}-{name}", std::process::id()));
    std::fs::write(&path, content).unwrap();
    path
}

#[test]
fn verification_is_on_by_default() {
    let server = tls_server();
    let err = snapshots::get(&builder(&server).build().unwrap(), "da89784d-f5b3-463b-b79a-e0d97710ff99").unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.full_message().to_lowercase().contains("certificate") || format!("{err:?}").contains("UnknownIssuer"), "{err:?}");
    assert!(matches!(&err, Error::Transport { source, .. } if source.kind() == TransportErrorKind::Tls), "{err:?}");
    // The backend the features chose did the refusing.
    let backend = if cfg!(feature = "native-tls") { "NativeTls" } else { "InvalidCertificate(UnknownIssuer)" };
    assert!(format!("{err:?}").contains(backend), "{err:?}");
    assert!(matches!(err, Error::Transport { attempts: 1, .. }), "a refused certificate is not retried: {err:?}");
    assert_eq!(server.served.load(Ordering::SeqCst), 0, "no request got through");
}

#[test]
fn a_ca_bundle_makes_it_pass() {
    let server = tls_server();
    let ca = temp_file("ca.pem", &server.ca_pem);
    let snap = snapshots::get(&builder(&server).ca_bundle(&ca).build().unwrap(), "da89784d-f5b3-463b-b79a-e0d97710ff99").unwrap();
    assert_eq!(snap.name.as_deref(), Some("tls"));
    assert_eq!(server.served.load(Ordering::SeqCst), 1);
    let _ = std::fs::remove_file(ca);
}

#[test]
fn os_cacert_names_the_bundle() {
    let server = tls_server();
    let ca = temp_file("os-cacert.pem", &server.ca_pem);
    let vars =
        [("OS_AUTH_URL", "https://localhost:1/v3".to_owned()), ("OS_TOKEN", "tok-tls".to_owned()), ("OS_CACERT", ca.display().to_string())];
    // OS_CACERT is read and checked when the client is built; a missing or broken bundle is
    // a configuration error naming the file.
    let builder = ServiceClientBuilder::from_vars(vars).unwrap();
    assert!(format!("{builder:?}").contains("os-cacert.pem"));
    builder.build().unwrap();
    let missing =
        ServiceClientBuilder::from_vars([("OS_AUTH_URL", "https://k/v3"), ("OS_TOKEN", "t"), ("OS_CACERT", "/nonexistent/ca.pem")])
            .unwrap()
            .build()
            .unwrap_err();
    assert!(matches!(&missing, Error::Config(m) if m.contains("/nonexistent/ca.pem")), "{missing}");
    let garbage = temp_file("garbage.pem", "not a certificate");
    let err = builder_for_garbage(&garbage);
    assert!(matches!(&err, Error::Config(m) if m.contains("garbage.pem")), "{err}");
    let _ = std::fs::remove_file(ca);
    let _ = std::fs::remove_file(garbage);
}

fn builder_for_garbage(path: &std::path::Path) -> Error {
    ServiceClient::with_token("https://localhost:1/v3/p", "t").unwrap().ca_bundle(path).build().unwrap_err()
}

#[test]
fn insecure_is_opt_in() {
    let server = tls_server();
    let snap = snapshots::get(&builder(&server).insecure(true).build().unwrap(), "da89784d-f5b3-463b-b79a-e0d97710ff99").unwrap();
    assert_eq!(snap.name.as_deref(), Some("tls"));
}
