//! The evidence kept with a record: the report's exact bytes and the pull-request facts it
//! judged, gzip-compressed and base64-encoded inside the note, so the record's digest
//! covers them and anyone with the repository can see what the reviewers saw.

use std::io::{Read, Write};

use base64::Engine;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};

use crate::approvals::PrFacts;
use crate::error::{Error, Result};

/// The one encoding written; a record naming another is reported, not guessed at.
pub const ENCODING: &str = "gzip+base64";

/// A kept document inflates to at most this many bytes: a hand-edited note cannot make a
/// reader allocate without bound (a compression bomb).
const MAX_INFLATED_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// How `report` and `pr_facts` are stored: `gzip+base64`.
    pub encoding: String,
    /// The report's exact bytes, as `check --format json` wrote them (`report_sha256` is
    /// their digest).
    pub report: String,
    /// The pull-request facts given to `audit record`, as JSON, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_facts: Option<String>,
}

/// The kept documents, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct KeptEvidence {
    pub report: Vec<u8>,
    pub pr_facts: Option<Vec<u8>>,
}

impl Evidence {
    pub fn keep(report: &[u8], facts: Option<&PrFacts>) -> Result<Evidence> {
        let pr_facts = facts
            .map(|facts| {
                serde_json::to_vec(facts)
                    .map_err(|e| Error::Audit(format!("serializing the pull-request facts: {e}")))
            })
            .transpose()?;
        Ok(Evidence {
            encoding: ENCODING.to_owned(),
            report: encode(report)?,
            pr_facts: pr_facts.as_deref().map(encode).transpose()?,
        })
    }

    /// The documents, or why they cannot be read (a sentence for `verify`).
    pub fn open(&self) -> std::result::Result<KeptEvidence, String> {
        if self.encoding != ENCODING {
            return Err(format!(
                "its evidence is encoded as {:?}; expected {ENCODING:?}",
                self.encoding
            ));
        }
        let report = decode(&self.report).map_err(|e| format!("its kept report {e}"))?;
        let pr_facts = self
            .pr_facts
            .as_deref()
            .map(decode)
            .transpose()
            .map_err(|e| format!("its kept pull-request facts {e}"))?;
        Ok(KeptEvidence { report, pr_facts })
    }
}

fn encode(bytes: &[u8]) -> Result<String> {
    let failed = |e: std::io::Error| Error::Audit(format!("compressing the evidence: {e}"));
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes).map_err(failed)?;
    let compressed = encoder.finish().map_err(failed)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(compressed))
}

fn decode(text: &str) -> std::result::Result<Vec<u8>, String> {
    let compressed = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| format!("is not base64 ({e})"))?;
    let mut inflated = Vec::new();
    GzDecoder::new(compressed.as_slice())
        .take(MAX_INFLATED_BYTES + 1)
        .read_to_end(&mut inflated)
        .map_err(|e| format!("is not gzip data ({e})"))?;
    if inflated.len() as u64 > MAX_INFLATED_BYTES {
        return Err(format!(
            "inflates to more than {MAX_INFLATED_BYTES} bytes, more than any report"
        ));
    }
    Ok(inflated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_documents_come_back_byte_for_byte() {
        let evidence = Evidence::keep(b"{\"schema\": \"x\"}\n", None).expect("keep");
        let kept = evidence.open().expect("open");
        assert_eq!(kept.report, b"{\"schema\": \"x\"}\n");
        assert_eq!(kept.pr_facts, None);
        let mut edited = evidence.clone();
        edited.report = "not base64!".into();
        assert!(edited.open().is_err_and(|e| e.contains("not base64")));
    }
}
