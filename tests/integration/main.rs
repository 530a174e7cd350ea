//! The one integration test binary: the real `s3wire` binary on real fixtures, checked against the
//! labels their clients recorded.

mod bucket_hosts;
mod capture_files;
mod cli;
mod damaged_tls;
mod decryption;
mod docs;
mod errors;
mod findings;
mod flow_damage;
mod harness;
mod http_damage;
mod linear;
#[cfg(feature = "live")]
mod live;
// Signals, FIFOs and /proc: Linux.
#[cfg(target_os = "linux")]
mod pipe;
mod requests;
mod robustness;
mod sanitize;
mod summary;
mod threads;
mod tls_suites;
mod tunnels;
