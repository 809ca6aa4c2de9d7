//! Integration-profile secrets at rest: sealed with ChaCha20-Poly1305 (ring) under a 256-bit key
//! the operator gives the engine (`RIPOSTE_ENGINE_KEY` or `--key-file`: 32 bytes as 64 hex digits
//! or base64). Each profile's secrets are one JSON object sealed with a fresh random nonce and the
//! profile's name as associated data, so a ciphertext copied onto another profile does not open.
//! The store keeps a sealed check value, so an engine started with the wrong key refuses to start
//! instead of failing every run.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

/// The environment variable holding the key.
pub const KEY_ENV: &str = "RIPOSTE_ENGINE_KEY";
const CHECK_AAD: &str = "riposte-engine-key-check";
const CHECK_PLAINTEXT: &[u8] = b"riposte";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "the secrets key must be 32 bytes written as 64 hex digits or as base64 (e.g. `openssl rand -hex 32`); the one given is not"
    )]
    Format,
    #[error("cannot read the key file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the key file {path} can be read by other users (mode {mode:o}): `chmod 600 {path}` first"
    )]
    Permissions { path: String, mode: u32 },
    #[error(
        "this key does not open the secrets in the store (they were sealed with another key): start the engine with the key it was first started with"
    )]
    WrongKey,
    #[error("secrets could not be sealed: the system random source failed")]
    Random,
    #[error(
        "stored secrets of `{0}` cannot be opened (damaged or sealed with another key): save the profile's secrets again"
    )]
    Open(String),
}

/// The key, held only in memory.
pub struct SecretBox {
    key: LessSafeKey,
    random: SystemRandom,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    /// Reads a key from its text (hex or base64, surrounding whitespace ignored).
    pub fn from_text(text: &str) -> Result<SecretBox, KeyError> {
        let text = text.trim();
        let bytes = Zeroizing::new(
            decode_hex(text)
                .or_else(|| STANDARD.decode(text).ok())
                .ok_or(KeyError::Format)?,
        );
        if bytes.len() != 32 {
            return Err(KeyError::Format);
        }
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, &bytes).map_err(|_| KeyError::Format)?;
        Ok(SecretBox {
            key: LessSafeKey::new(unbound),
            random: SystemRandom::new(),
        })
    }

    /// Reads a key file, refused when other users can read it.
    pub fn from_file(path: &Path) -> Result<SecretBox, KeyError> {
        let shown = path.display().to_string();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let meta = std::fs::metadata(path).map_err(|source| KeyError::Read {
                path: shown.clone(),
                source,
            })?;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyError::Permissions { path: shown, mode });
            }
        }
        let text =
            Zeroizing::new(
                std::fs::read_to_string(path).map_err(|source| KeyError::Read {
                    path: shown,
                    source,
                })?,
            );
        SecretBox::from_text(&text)
    }

    fn seal_bytes(&self, aad: &str, plaintext: &[u8]) -> Result<String, KeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random.fill(&mut nonce).map_err(|_| KeyError::Random)?;
        let mut buffer = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad.as_bytes()),
                &mut buffer,
            )
            .map_err(|_| KeyError::Random)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buffer);
        Ok(STANDARD.encode(out))
    }

    fn open_bytes(&self, aad: &str, sealed: &str) -> Option<Zeroizing<Vec<u8>>> {
        let bytes = STANDARD.decode(sealed).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = Zeroizing::new(ciphertext.to_vec());
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut buffer)
            .ok()?;
        Some(Zeroizing::new(plain.to_vec()))
    }

    /// Seals a profile's secret fields.
    pub fn seal(
        &self,
        profile: &str,
        secrets: &BTreeMap<String, Zeroizing<String>>,
    ) -> Result<String, KeyError> {
        let plain: BTreeMap<&str, &str> = secrets
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let json = Zeroizing::new(serde_json::to_vec(&plain).unwrap_or_default());
        self.seal_bytes(profile, &json)
    }

    /// Opens a profile's secret fields.
    pub fn open(
        &self,
        profile: &str,
        sealed: &str,
    ) -> Result<BTreeMap<String, Zeroizing<String>>, KeyError> {
        let plain = self
            .open_bytes(profile, sealed)
            .ok_or_else(|| KeyError::Open(profile.to_string()))?;
        let map: BTreeMap<String, String> =
            serde_json::from_slice(&plain).map_err(|_| KeyError::Open(profile.to_string()))?;
        Ok(map
            .into_iter()
            .map(|(k, v)| (k, Zeroizing::new(v)))
            .collect())
    }

    /// The value stored to recognise this key later.
    pub fn check_value(&self) -> Result<String, KeyError> {
        self.seal_bytes(CHECK_AAD, CHECK_PLAINTEXT)
    }

    /// Whether `stored` was made by [`SecretBox::check_value`] with this key.
    pub fn verify(&self, stored: &str) -> Result<(), KeyError> {
        match self.open_bytes(CHECK_AAD, stored) {
            Some(plain) if plain.as_slice() == CHECK_PLAINTEXT => Ok(()),
            _ => Err(KeyError::WrongKey),
        }
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn secrets() -> BTreeMap<String, Zeroizing<String>> {
        BTreeMap::from([(
            "api_key".to_string(),
            Zeroizing::new("fake-key-1".to_string()),
        )])
    }

    #[test]
    fn seals_and_opens_bound_to_the_profile() {
        let sb = SecretBox::from_text(KEY).unwrap();
        let sealed = sb.seal("VT", &secrets()).unwrap();
        assert!(!sealed.contains("fake-key-1"));
        let opened = sb.open("VT", &sealed).unwrap();
        assert_eq!(opened["api_key"].as_str(), "fake-key-1");
        // Moved onto another profile: refused.
        assert!(matches!(sb.open("Other", &sealed), Err(KeyError::Open(_))));
        // Two seals of the same value differ (fresh nonce).
        assert_ne!(sealed, sb.seal("VT", &secrets()).unwrap());
    }

    #[test]
    fn a_wrong_key_is_recognised() {
        let one = SecretBox::from_text(KEY).unwrap();
        let other = SecretBox::from_text(&"ab".repeat(32)).unwrap();
        let check = one.check_value().unwrap();
        assert!(one.verify(&check).is_ok());
        assert!(matches!(other.verify(&check), Err(KeyError::WrongKey)));
    }

    #[test]
    fn keys_must_be_32_bytes() {
        assert!(matches!(
            SecretBox::from_text("abcd"),
            Err(KeyError::Format)
        ));
        assert!(matches!(
            SecretBox::from_text("not a key at all"),
            Err(KeyError::Format)
        ));
        let b64 = STANDARD.encode([7u8; 32]);
        assert!(SecretBox::from_text(&b64).is_ok());
    }
}
