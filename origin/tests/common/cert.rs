//! A self-signed certificate for 127.0.0.1, made with rcgen, for the HTTPS tests of this crate
//! and of the `llhls` binary (`tests/serve_tls.rs` includes this file by path).

use std::path::{Path, PathBuf};

/// A self-signed pair for 127.0.0.1 written to `dir`: (cert path, key path), both PEM.
pub fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&c, cert.pem()).unwrap();
    std::fs::write(&k, key.serialize_pem()).unwrap();
    (c, k)
}
