//! ferret-scan: the file scanner (being wired).

/// SHA-256 over the built-in rule pack.
pub fn builtin_sha256() -> String {
    String::new()
}
