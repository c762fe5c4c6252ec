//! The ProxyLogon tables: web shells (`proxylogon/webshells.tsv`).

/// One row of `proxylogon/webshells.tsv`.
#[derive(Clone, Debug)]
pub struct WebShellIndicator {
    /// `sha256` or `name` (a path suffix below the Exchange or IIS tree).
    pub kind: String,
    /// The hash or the path suffix, lowercase, `/`-separated.
    pub value: String,
}

/// The published ProxyLogon web-shell hashes and names (`proxylogon/webshells.tsv`).
#[derive(Clone, Debug, Default)]
pub struct WebShells {
    /// The rows, in table order.
    pub rows: Vec<WebShellIndicator>,
}

impl WebShells {
    /// Reads `proxylogon/webshells.tsv` from `intel` (none when the table is absent).
    pub fn from_intel(intel: &ferret_intel::Intel) -> Result<WebShells, ferret_intel::IntelError> {
        let path = super::tables::PROXYLOGON_WEBSHELLS;
        let mut rows = Vec::new();
        for row in intel.rows(path) {
            let kind = super::one_of(path, row, "kind", &["sha256", "name"])?;
            let value = row.field("value").trim().replace('\\', "/").to_ascii_lowercase();
            rows.push(WebShellIndicator { kind: kind.to_owned(), value });
        }
        Ok(WebShells { rows })
    }
}
