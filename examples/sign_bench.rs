//! Benchmark (not a test): the cost of signing an RS256 ID token with a cached `SigningKey`
//! against one raw RSA-2048 private operation. Issue: signing must cost no more than one RSA
//! private operation plus microseconds.
//!
//!     cargo run --release --example sign_bench [iterations]

use openssl::rsa::{Padding, Rsa};
use portcullis::jwk::jws::SigningKey;
use portcullis::jwk::key;
use serde_json::json;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let pair = key::generate("RS256", "bench", "sig", 2048).map_err(|e| e.to_string())?;
    let signer = SigningKey::from_jwk(&pair[0]).map_err(|e| e.to_string())?;
    let claims = json!({
        "iss": "https://auth.example/", "sub": "user-1", "aud": ["app"], "exp": 1_626_267_610u64,
        "iat": 1_626_264_010u64, "auth_time": 1_626_264_000u64, "rat": 1_626_263_990u64,
        "jti": "5c1e6f8e-2f0b-4d4e-8b0a-6b7f0a9d1c2e", "nonce": "n-0S6_WzA2Mj", "acr": "pwd",
        "at_hash": "77QmUPtjPfzWtF2AnpK9RQ", "sid": "5c1e6f8e-2f0b-4d4e-8b0a-6b7f0a9d1c2e",
        "email": "u@example.com"
    });

    // A raw OpenSSL RSA-2048 key for the baseline private operation.
    let rsa = Rsa::generate(2048)?;
    let digest_info = [0u8; 51]; // the size of a SHA-256 DigestInfo

    for _ in 0..50 {
        signer.sign(&claims).map_err(|e| e.to_string())?;
    }
    let started = Instant::now();
    for _ in 0..n {
        signer.sign(&claims).map_err(|e| e.to_string())?;
    }
    let sign = started.elapsed().as_secs_f64() * 1e6 / f64::from(n);

    let mut out = vec![0u8; rsa.size() as usize];
    let started = Instant::now();
    for _ in 0..n {
        rsa.private_encrypt(&digest_info, &mut out, Padding::PKCS1)?;
    }
    let raw = started.elapsed().as_secs_f64() * 1e6 / f64::from(n);

    println!("RS256 ID token sign (SigningKey::sign): {sign:8.1} us/token");
    println!("raw RSA-2048 private operation:         {raw:8.1} us/op");
    println!(
        "overhead:                               {:8.1} us ({:.1}%)",
        sign - raw,
        (sign / raw - 1.0) * 100.0
    );
    Ok(())
}
