//! Secrets at rest: cluster passwords are sealed with XChaCha20-Poly1305.

use base64::{engine::general_purpose::STANDARD, Engine};
use chacha20poly1305::{
    aead::{Aead, AeadCore, KeyInit, OsRng},
    XChaCha20Poly1305, XNonce,
};
use std::path::Path;

/// Errors reading the key or opening a sealed secret.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("WATERSHED_SECRET_KEY must be 32 bytes, base64 or hex encoded")]
    BadKey,
    #[error("the key file {0} could not be read or written")]
    KeyFile(String, #[source] std::io::Error),
    #[error("a stored secret could not be decrypted (wrong WATERSHED_SECRET_KEY?)")]
    Open,
    #[error(
        "WATERSHED_SECRET_KEY is required with PostgreSQL: every replica on one database must \
         seal and open cluster and webhook secrets with the same key. Make one with \
         `openssl rand -base64 32` (or `head -c 32 /dev/urandom | base64`) and give every \
         replica the same value"
    )]
    KeyRequired,
}

/// The key that seals secrets. Its Debug output never shows the key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox([redacted])")
    }
}

const PREFIX: &str = "v1:";

impl SecretBox {
    /// A box from 32 raw key bytes.
    pub fn from_bytes(key: &[u8]) -> Result<Self, CryptoError> {
        let cipher = XChaCha20Poly1305::new_from_slice(key).map_err(|_| CryptoError::BadKey)?;
        Ok(Self { cipher })
    }

    /// The key from `WATERSHED_SECRET_KEY` when given, else from `secret.key` in the data dir,
    /// generated on first use.
    pub fn load(configured: Option<&str>, data_dir: &Path) -> Result<Self, CryptoError> {
        if let Some(raw) = configured {
            return Self::from_bytes(&decode_key(raw)?);
        }
        let path = data_dir.join("secret.key");
        let io = |e| CryptoError::KeyFile(path.display().to_string(), e);
        if path.exists() {
            let raw = std::fs::read_to_string(&path).map_err(io)?;
            return Self::from_bytes(&decode_key(raw.trim())?);
        }
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        std::fs::create_dir_all(data_dir).map_err(io)?;
        std::fs::write(&path, STANDARD.encode(key)).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        }
        Self::from_bytes(&key)
    }

    /// The key for a database: on PostgreSQL (where several replicas share the data) it must
    /// be configured, since a key file in one replica's data dir would not be the others'.
    pub fn for_database(
        configured: Option<&str>,
        data_dir: &Path,
        database_url: &str,
    ) -> Result<Self, CryptoError> {
        let shared =
            database_url.starts_with("postgres://") || database_url.starts_with("postgresql://");
        if shared && configured.is_none() {
            return Err(CryptoError::KeyRequired);
        }
        Self::load(configured, data_dir)
    }

    /// Seals a secret as `v1:` + base64(nonce ‖ ciphertext).
    pub fn seal(&self, plain: &str) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ct = self
            .cipher
            .encrypt(&nonce, plain.as_bytes())
            .expect("encryption with a valid key cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    /// Opens what `seal` produced.
    pub fn open(&self, sealed: &str) -> Result<String, CryptoError> {
        let raw = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| STANDARD.decode(b).ok())
            .ok_or(CryptoError::Open)?;
        if raw.len() < 24 {
            return Err(CryptoError::Open);
        }
        let (nonce, ct) = raw.split_at(24);
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), ct)
            .map_err(|_| CryptoError::Open)?;
        String::from_utf8(plain).map_err(|_| CryptoError::Open)
    }
}

fn decode_key(raw: &str) -> Result<Vec<u8>, CryptoError> {
    let bytes = if raw.len() == 64 {
        hex::decode(raw).map_err(|_| CryptoError::BadKey)?
    } else {
        STANDARD.decode(raw).map_err(|_| CryptoError::BadKey)?
    };
    if bytes.len() == 32 {
        Ok(bytes)
    } else {
        Err(CryptoError::BadKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key() {
        let a = SecretBox::from_bytes(&[7; 32]).unwrap();
        let b = SecretBox::from_bytes(&[8; 32]).unwrap();
        let sealed = a.seal("hunter2");
        assert!(!sealed.contains("hunter2"));
        assert_eq!(a.open(&sealed).unwrap(), "hunter2");
        assert!(b.open(&sealed).is_err());
    }

    #[test]
    fn the_key_file_is_generated_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let sealed = SecretBox::load(None, dir.path()).unwrap().seal("x");
        let again = SecretBox::load(None, dir.path()).unwrap();
        assert_eq!(again.open(&sealed).unwrap(), "x");
    }

    #[test]
    fn a_short_configured_key_is_refused() {
        assert!(matches!(
            SecretBox::load(Some("abcd"), Path::new(".")),
            Err(CryptoError::BadKey)
        ));
    }
}
