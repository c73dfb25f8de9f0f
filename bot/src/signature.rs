//! Webhook signatures: `X-Hub-Signature-256: sha256=<hex>`, an HMAC-SHA256 of the raw body
//! under the webhook secret. Checked before anything parses the body.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::Secret;

/// Whether `header` is a valid signature of `body` under any of `secrets` (several while a
/// secret is being rotated). The comparison is constant-time.
pub fn verify(secrets: &[Secret], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_digest) = header.and_then(|h| h.strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_digest.trim()) else {
        return false;
    };
    secrets.iter().any(|secret| {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) else {
            return false;
        };
        mac.update(body);
        mac.verify_slice(&expected).is_ok()
    })
}

/// The header value GitHub would send for `body` (for tests and load generators).
pub fn sign(secret: &str, body: &[u8]) -> String {
    // An HMAC key of any length is valid, so this cannot fail.
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's published example: secret "It's a Secret to Everybody", payload
    /// "Hello, World!".
    #[test]
    fn githubs_test_vector() {
        let expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(
            sign("It's a Secret to Everybody", b"Hello, World!"),
            expected
        );
        let secrets = [
            Secret::new("old secret"),
            Secret::new("It's a Secret to Everybody"),
        ];
        assert!(verify(&secrets, b"Hello, World!", Some(expected)));
        assert!(!verify(&secrets, b"Hello, World?", Some(expected)));
        assert!(!verify(&secrets, b"Hello, World!", Some("sha256=00")));
        assert!(!verify(&secrets, b"Hello, World!", Some("sha1=757107ea")));
        assert!(!verify(&secrets, b"Hello, World!", None));
    }
}
