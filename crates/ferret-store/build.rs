//! Marks the PostgreSQL half of the store tests as ignored (`needs PostgreSQL`) when no
//! server is named by `FERRET_TEST_POSTGRES_URL`, so a plain `cargo test` counts those tests
//! as ignored instead of passing them as no-ops. With `FERRET_STRICT_TESTS=1` (CI) they are
//! never ignored: without a server they fail.

fn main() {
    println!("cargo::rerun-if-env-changed=FERRET_TEST_POSTGRES_URL");
    println!("cargo::rerun-if-env-changed=FERRET_STRICT_TESTS");
    println!("cargo::rustc-check-cfg=cfg(ferret_no_postgres)");
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
    if !set("FERRET_TEST_POSTGRES_URL") && !set("FERRET_STRICT_TESTS") {
        println!("cargo::rustc-cfg=ferret_no_postgres");
    }
}
