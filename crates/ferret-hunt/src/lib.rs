//! ferret-hunt: logs × Sigma.
