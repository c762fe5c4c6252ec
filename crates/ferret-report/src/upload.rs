//! Decoding an uploaded report body, as the collector receives it: the content encoding
//! (identity or gzip, the expanded size capped), UTF-8, the JSONL report, and the run id's
//! bounds. Kept here, free of any server machinery, so the exact code the collector runs on an
//! upload can be fuzzed and tested on its own.

use std::io::Read as _;

use crate::Report;
use crate::jsonl::ParseError;

/// How many times the body limit a gzip body may expand to; past it the upload is refused.
pub const GZIP_EXPANSION: usize = 16;

/// Longest run id accepted, in bytes.
pub const MAX_RUN_ID: usize = 128;

/// Why an uploaded body was refused.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// A `Content-Encoding` other than identity or gzip.
    #[error("unsupported content-encoding {0:?}")]
    Encoding(String),
    /// The body claims gzip but does not decompress.
    #[error("body is not valid gzip: {0}")]
    Gzip(#[source] std::io::Error),
    /// The decompressed body is larger than `limit` bytes.
    #[error("body larger than {limit} bytes")]
    TooLarge {
        /// The cap that was exceeded, in bytes.
        limit: usize,
    },
    /// The body is not UTF-8.
    #[error("report is not UTF-8")]
    NotUtf8,
    /// The body is not a valid JSONL report.
    #[error("malformed report: {0}")]
    Malformed(#[source] ParseError),
    /// The report's run id is empty or longer than [`MAX_RUN_ID`] bytes.
    #[error("malformed report: run_id must be 1 to {MAX_RUN_ID} bytes")]
    RunId,
}

/// Decodes an uploaded body into a [`Report`]. `content_encoding` is the header's value
/// (`None`, empty or `identity`: plain; `gzip`: expanded up to [`GZIP_EXPANSION`] × `limit`
/// bytes, so a small bomb is refused without being expanded further).
pub fn decode(
    content_encoding: Option<&str>,
    body: &[u8],
    limit: usize,
) -> Result<Report, UploadError> {
    let encoding = content_encoding.unwrap_or("identity").trim().to_ascii_lowercase();
    let expanded;
    let raw = match encoding.as_str() {
        "identity" | "" => body,
        "gzip" => {
            let cap = limit.saturating_mul(GZIP_EXPANSION);
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(body)
                .take(u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1))
                .read_to_end(&mut out)
                .map_err(UploadError::Gzip)?;
            if out.len() > cap {
                return Err(UploadError::TooLarge { limit: cap });
            }
            expanded = out;
            &expanded
        }
        _ => return Err(UploadError::Encoding(encoding)),
    };
    let text = std::str::from_utf8(raw).map_err(|_| UploadError::NotUtf8)?;
    let report = crate::jsonl::parse(text).map_err(UploadError::Malformed)?;
    if report.run_id.is_empty() || report.run_id.len() > MAX_RUN_ID {
        return Err(UploadError::RunId);
    }
    Ok(report)
}
