//! Stream and ladder configuration from TOML (skeleton).
