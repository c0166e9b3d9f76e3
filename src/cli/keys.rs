//! `portcullis keys create|get|delete|import`: Hydra 1.10.3's JSON Web Key commands
//! (hydra-reference §7.3, Hydra's `cmd/keys_*.go`), over the admin API only. `import` reads
//! JWK JSON or PEM keys and turns PEM into the JWK model of `jwk::key`.
//! May import: `crypto` (kid generation), `jwk` (the JWK model and its import check).

use super::admin_http::{AdminApi, AdminFlags};
use crate::crypto::random;
use crate::jwk::key::{self, b64};
use crate::jwk::JsonWebKey;
use anyhow::{anyhow, bail, Context};
use clap::{Args, Subcommand};
use openssl::bn::{BigNum, BigNumContext, BigNumRef};
use openssl::error::ErrorStack;
use openssl::nid::Nid;
use openssl::pkey::{HasPublic, Id, PKey, PKeyRef, Private};
use openssl::rsa::Rsa;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// `portcullis keys ...`.
#[derive(Args, Debug)]
pub struct Keys {
    #[command(subcommand)]
    command: KeysCommand,
    #[command(flatten)]
    admin: AdminFlags,
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Generate a key (pair) into a JSON Web Key Set; prints the generated keys as JSON.
    Create {
        /// The key set to add the key to; created when it does not exist.
        set: String,
        /// The key id (Hydra's positional form of --kid); a random UUID when not given.
        #[arg(value_name = "KID", conflicts_with = "kid")]
        kid_arg: Option<String>,
        /// The key id; a random UUID when not given. Asymmetric keys are stored as the pair
        /// `private:<kid>` and `public:<kid>`.
        #[arg(long)]
        kid: Option<String>,
        /// RS256, ES256, ES512, EdDSA, HS256 or HS512.
        #[arg(short = 'a', long, default_value = "RS256")]
        alg: String,
        /// sig or enc.
        #[arg(short = 'u', long = "use", default_value = "sig")]
        use_: String,
    },
    /// Print a JSON Web Key Set, private keys included, as JSON.
    Get {
        /// The key set.
        set: String,
    },
    /// Delete a whole JSON Web Key Set.
    Delete {
        /// The key set.
        set: String,
    },
    /// Import keys into a JSON Web Key Set, one key per file: a JWK (JSON) or a PEM private
    /// key (PKCS#8, PKCS#1 or SEC1) or public key (SubjectPublicKeyInfo, PKCS#1).
    #[command(after_help = IMPORT_HELP)]
    Import {
        /// The key set to add the keys to; created when it does not exist.
        set: String,
        /// The key files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The key id of a key whose file names none (PEM, or a JWK without kid); a random
        /// UUID when not given.
        #[arg(long)]
        kid: Option<String>,
        /// The `use` of a key whose file names none: sig or enc.
        #[arg(long = "use", default_value = "sig")]
        use_: String,
    },
}

const IMPORT_HELP: &str =
    "Every file is read and checked before anything is sent; then each key is \
stored with PUT /keys/<set>/<kid> (replacing a key of that kid) and printed as JSON, one object \
per file. Unlike Hydra, the kid of a PEM key gets no private:/public: prefix. Encrypted PEM and \
DER files are not supported.";

/// Runs one `keys` command.
pub async fn run(keys: Keys) -> anyhow::Result<()> {
    let api = AdminApi::new(&keys.admin)?;
    match keys.command {
        KeysCommand::Create {
            set,
            kid_arg,
            kid,
            alg,
            use_,
        } => {
            let kid = kid.or(kid_arg).unwrap_or_default();
            let body = json!({"alg": alg, "kid": kid, "use": use_});
            let created = api
                .call(Method::POST, &["keys", &set], &[], Some(&body))
                .await?;
            print_json(&created)
        }
        KeysCommand::Get { set } => {
            let got = api.call(Method::GET, &["keys", &set], &[], None).await?;
            print_json(&got)
        }
        KeysCommand::Delete { set } => {
            api.call(Method::DELETE, &["keys", &set], &[], None).await?;
            println!("JSON Web Key Set {set} deleted.");
            Ok(())
        }
        KeysCommand::Import {
            set,
            files,
            kid,
            use_,
        } => import(&api, &set, &files, kid.as_deref(), &use_).await,
    }
}

fn print_json(value: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Reads and checks every file first, so that a bad file stores nothing; then PUTs each key.
async fn import(
    api: &AdminApi,
    set: &str,
    files: &[PathBuf],
    kid: Option<&str>,
    use_: &str,
) -> anyhow::Result<()> {
    let mut keys = Vec::with_capacity(files.len());
    let mut kids = HashSet::new();
    for file in files {
        let mut jwk = read_key(file)?;
        if jwk.kid.as_deref().unwrap_or_default().is_empty() {
            jwk.kid = Some(kid.map_or_else(random::uuid, str::to_string));
        }
        if jwk.use_.is_none() {
            jwk.use_ = Some(use_.to_string());
        }
        // The server runs the same check on PUT; running it here first keeps the import
        // all-or-nothing for keys that cannot be stored.
        key::check(&jwk).map_err(|e| {
            let why = e.hint.clone().unwrap_or_else(|| e.full_description());
            anyhow!("{}: {why}", file.display())
        })?;
        let kid = jwk.kid.clone().unwrap_or_default();
        if !kids.insert(kid.clone()) {
            bail!("{}: a second key with the kid {kid:?}; give each file its own kid (--kid applies to every file without one)", file.display());
        }
        keys.push((kid, jwk));
    }
    for (kid, jwk) in &keys {
        let body = serde_json::to_value(jwk)?;
        let stored = api
            .call(Method::PUT, &["keys", set, kid], &[], Some(&body))
            .await?;
        print_json(&stored)?;
    }
    Ok(())
}

/// One key from a file: a JWK JSON object or a PEM key.
fn read_key(file: &Path) -> anyhow::Result<JsonWebKey> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        jwk_from_json(trimmed).with_context(|| format!("{} is not a usable JWK", file.display()))
    } else if trimmed.contains("-----BEGIN ") {
        jwk_from_pem(&bytes).with_context(|| format!("{} is not a usable PEM key", file.display()))
    } else {
        bail!(
            "{} holds neither a JSON Web Key (a JSON object) nor a PEM key (-----BEGIN ...); DER is not supported",
            file.display()
        )
    }
}

fn jwk_from_json(text: &str) -> anyhow::Result<JsonWebKey> {
    let value: Value = serde_json::from_str(text).context("invalid JSON")?;
    if value.get("keys").is_some() {
        bail!("it holds a JSON Web Key Set; put each key in a file of its own");
    }
    Ok(serde_json::from_value(value)?)
}

/// A PEM private key (PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY`, SEC1 `EC PRIVATE KEY`)
/// or public key (`PUBLIC KEY`, PKCS#1 `RSA PUBLIC KEY`) as a JWK without kid or use.
fn jwk_from_pem(pem: &[u8]) -> anyhow::Result<JsonWebKey> {
    let text = String::from_utf8_lossy(pem);
    if text.contains("ENCRYPTED") {
        bail!(
            "encrypted private keys are not supported; decrypt it first (openssl pkey -in <file>)"
        );
    }
    if text.contains("PRIVATE KEY-----") {
        // No passphrase: without this callback openssl would prompt on the terminal.
        let key = PKey::private_key_from_pem_callback(pem, |_| Ok(0))
            .map_err(|_| anyhow!("the private key cannot be read"))?;
        return private_jwk(&key);
    }
    let key = if text.contains("-----BEGIN RSA PUBLIC KEY-----") {
        Rsa::public_key_from_pem_pkcs1(pem).and_then(PKey::from_rsa)
    } else if text.contains("-----BEGIN PUBLIC KEY-----") {
        PKey::public_key_from_pem(pem)
    } else {
        bail!("it holds no PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY, PUBLIC KEY or RSA PUBLIC KEY block");
    };
    let key = key.map_err(|_| anyhow!("the public key cannot be read"))?;
    public_jwk(&key)
}

/// The curve's JWK name and its coordinate size in bytes (RFC 7518 §6.2.1.1).
fn ec_curve(nid: Option<Nid>) -> anyhow::Result<(&'static str, i32)> {
    match nid {
        Some(Nid::X9_62_PRIME256V1) => Ok(("P-256", 32)),
        Some(Nid::SECP384R1) => Ok(("P-384", 48)),
        Some(Nid::SECP521R1) => Ok(("P-521", 66)),
        _ => bail!("the EC curve is not supported; use P-256, P-384 or P-521"),
    }
}

/// `kty` and the public members (RFC 7518 §6.2.1, §6.3.1; RFC 8037 §2).
fn public_jwk<T: HasPublic>(key: &PKeyRef<T>) -> anyhow::Result<JsonWebKey> {
    let with = |kty: &str| JsonWebKey {
        kty: Some(kty.to_string()),
        ..JsonWebKey::default()
    };
    match key.id() {
        Id::RSA => {
            let rsa = key.rsa()?;
            Ok(JsonWebKey {
                n: Some(b64(&rsa.n().to_vec())),
                e: Some(b64(&rsa.e().to_vec())),
                ..with("RSA")
            })
        }
        Id::EC => {
            let ec = key.ec_key()?;
            let (crv, size) = ec_curve(ec.group().curve_name())?;
            let coordinates = || -> Result<(Vec<u8>, Vec<u8>), ErrorStack> {
                let mut ctx = BigNumContext::new()?;
                let (mut x, mut y) = (BigNum::new()?, BigNum::new()?);
                ec.public_key()
                    .affine_coordinates(ec.group(), &mut x, &mut y, &mut ctx)?;
                Ok((x.to_vec_padded(size)?, y.to_vec_padded(size)?))
            };
            let (x, y) = coordinates()?;
            Ok(JsonWebKey {
                crv: Some(crv.to_string()),
                x: Some(b64(&x)),
                y: Some(b64(&y)),
                ..with("EC")
            })
        }
        Id::ED25519 => Ok(JsonWebKey {
            crv: Some("Ed25519".to_string()),
            x: Some(b64(&key.raw_public_key()?)),
            ..with("OKP")
        }),
        _ => bail!("the key type is not supported; use RSA, EC (P-256, P-384, P-521) or Ed25519"),
    }
}

/// The public members plus the private ones (RFC 7518 §6.2.2, §6.3.2; RFC 8037 §2).
fn private_jwk(key: &PKeyRef<Private>) -> anyhow::Result<JsonWebKey> {
    let mut jwk = public_jwk(key)?;
    match key.id() {
        Id::RSA => {
            let rsa = key.rsa()?;
            let int = |v: Option<&BigNumRef>| v.map(|v| b64(&v.to_vec()));
            jwk.d = Some(b64(&rsa.d().to_vec()));
            // RFC 7518 §6.3.2: the CRT members come all together or not at all.
            let crt = [rsa.p(), rsa.q(), rsa.dmp1(), rsa.dmq1(), rsa.iqmp()].map(int);
            if crt.iter().all(Option::is_some) {
                [jwk.p, jwk.q, jwk.dp, jwk.dq, jwk.qi] = crt;
            }
        }
        Id::EC => {
            let ec = key.ec_key()?;
            let (_, size) = ec_curve(ec.group().curve_name())?;
            jwk.d = Some(b64(&ec.private_key().to_vec_padded(size)?));
        }
        _ => jwk.d = Some(b64(&key.raw_private_key()?)),
    }
    Ok(jwk)
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::ec::{EcGroup, EcKey};

    fn decoded_len(member: &Option<String>) -> usize {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(member.as_deref().unwrap())
            .unwrap()
            .len()
    }

    #[test]
    fn pem_keys_become_checked_jwks_with_fixed_size_coordinates() {
        let rsa = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let p521 = EcKey::generate(&EcGroup::from_curve_name(Nid::SECP521R1).unwrap()).unwrap();
        let p521 = PKey::from_ec_key(p521).unwrap();
        let ed = PKey::generate_ed25519().unwrap();
        let cases = [
            (
                "PKCS#8 RSA",
                rsa.private_key_to_pem_pkcs8().unwrap(),
                "RSA",
                true,
            ),
            (
                "PKCS#1 RSA",
                rsa.rsa().unwrap().private_key_to_pem().unwrap(),
                "RSA",
                true,
            ),
            ("SPKI RSA", rsa.public_key_to_pem().unwrap(), "RSA", false),
            (
                "PKCS#1 RSA public",
                rsa.rsa().unwrap().public_key_to_pem_pkcs1().unwrap(),
                "RSA",
                false,
            ),
            (
                "SEC1 P-521",
                p521.ec_key().unwrap().private_key_to_pem().unwrap(),
                "EC",
                true,
            ),
            ("SPKI P-521", p521.public_key_to_pem().unwrap(), "EC", false),
            (
                "PKCS#8 Ed25519",
                ed.private_key_to_pem_pkcs8().unwrap(),
                "OKP",
                true,
            ),
            (
                "SPKI Ed25519",
                ed.public_key_to_pem().unwrap(),
                "OKP",
                false,
            ),
        ];
        for (name, pem, kty, private) in cases {
            let jwk = jwk_from_pem(&pem).unwrap_or_else(|e| panic!("{name}: {e:#}"));
            assert_eq!(jwk.kty.as_deref(), Some(kty), "{name}");
            assert_eq!(key::is_private(&jwk), private, "{name}");
            key::check(&jwk).unwrap_or_else(|e| panic!("{name}: {e}"));
            if kty == "EC" {
                assert_eq!(jwk.crv.as_deref(), Some("P-521"));
                assert_eq!(
                    (decoded_len(&jwk.x), decoded_len(&jwk.y)),
                    (66, 66),
                    "{name}"
                );
            }
            if kty == "RSA" && private {
                assert!(jwk.qi.is_some(), "{name}: CRT members");
            }
        }
    }

    #[test]
    fn unusable_pem_files_are_refused_with_the_reason() {
        let secp256k1 =
            EcKey::generate(&EcGroup::from_curve_name(Nid::SECP256K1).unwrap()).unwrap();
        let encrypted = PKey::generate_ed25519()
            .unwrap()
            .private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_128_cbc(), b"pw")
            .unwrap();
        let cases = [
            (
                secp256k1.private_key_to_pem().unwrap(),
                "curve is not supported",
            ),
            (encrypted, "encrypted"),
            (
                b"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n".to_vec(),
                "no PRIVATE KEY",
            ),
            (
                b"-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n".to_vec(),
                "cannot be read",
            ),
        ];
        for (pem, needle) in cases {
            let err = format!("{:#}", jwk_from_pem(&pem).unwrap_err());
            assert!(err.contains(needle), "{needle:?} not in {err:?}");
        }
    }
}
