//! The loopback listener of `token user`: one `GET` per connection over plain TCP or TLS with
//! a self-signed certificate, HTML answers with `Connection: close`, and opening the desktop's
//! browser. Enough HTTP for a browser to reach a local example app, nothing more.
//! May import: nothing from this crate.

use anyhow::Context;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// How long one browser connection may take to send its request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest request head the listener reads.
const MAX_HEAD: usize = 16 * 1024;

/// The request target of a `GET` request head; `None` for anything else.
pub async fn read_target<S: AsyncRead + Unpin>(stream: &mut S) -> std::io::Result<Option<String>> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 || head.len() + n > MAX_HEAD {
            return Ok(None);
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.trim_end().split(' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("GET"), Some(target), Some(version))
            if target.starts_with('/') && version.starts_with("HTTP/1.") =>
        {
            Ok(Some(target.to_string()))
        }
        _ => Ok(None),
    }
}

/// Writes a complete HTML response and closes the connection (`Connection: close`).
pub async fn respond<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: u16,
    html: &str,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        409 => "Conflict",
        _ => "Internal Server Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        html.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(html.as_bytes()).await?;
    stream.flush().await?;
    stream.shutdown().await
}

/// Opens `url` in the desktop's browser, as Hydra does; failures are ignored (the URL is
/// printed anyway).
pub fn open_browser(url: &str) {
    let mut command = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(target_os = "windows") {
        let mut c = std::process::Command::new("cmd");
        c.args(["/C", "start", ""]);
        c
    } else {
        std::process::Command::new("xdg-open")
    };
    let spawned = command
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if let Ok(mut child) = spawned {
        // Reap the opener so it does not linger as a zombie.
        std::thread::spawn(move || child.wait());
    }
}

/// A TLS acceptor with a self-signed P-256 certificate for 127.0.0.1 and localhost, made
/// fresh at every start (Hydra's `--https` makes an RSA one the same way).
pub fn self_signed_acceptor() -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    use openssl::asn1::Asn1Time;
    use openssl::bn::{BigNum, MsbOption};
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::x509::extension::SubjectAlternativeName;
    use openssl::x509::{X509NameBuilder, X509};
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    let key = PKey::from_ec_key(EcKey::generate(&group)?)?;
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("CN", "127.0.0.1")?;
    let name = name.build();
    let mut cert = X509::builder()?;
    cert.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    cert.set_serial_number(serial.to_asn1_integer()?.as_ref())?;
    cert.set_subject_name(&name)?;
    cert.set_issuer_name(&name)?;
    cert.set_pubkey(&key)?;
    cert.set_not_before(Asn1Time::days_from_now(0)?.as_ref())?;
    cert.set_not_after(Asn1Time::days_from_now(1)?.as_ref())?;
    let san = SubjectAlternativeName::new()
        .ip("127.0.0.1")
        .dns("localhost")
        .build(&cert.x509v3_context(None, None))?;
    cert.append_extension(san)?;
    cert.sign(&key, MessageDigest::sha256())?;
    let cert = CertificateDer::from(cert.build().to_der()?);
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.private_key_to_pkcs8()?));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .context("cannot use the self-signed certificate")?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_get_request_heads_are_read() {
        let cases: [(&[u8], Option<&str>); 5] = [
            (
                b"GET /callback?code=x HTTP/1.1\r\nHost: a\r\n\r\n",
                Some("/callback?code=x"),
            ),
            (b"GET / HTTP/1.0\r\n\r\n", Some("/")),
            (b"POST /callback HTTP/1.1\r\n\r\n", None),
            (b"GET http://evil/ HTTP/1.1\r\n\r\n", None),
            (b"GET /callback HTTP/1.1\r\n", None),
        ];
        for (head, expected) in cases {
            let mut reader = head;
            let target = read_target(&mut reader).await.unwrap();
            assert_eq!(
                target.as_deref(),
                expected,
                "{}",
                String::from_utf8_lossy(head)
            );
        }
    }
}
