//! s3wire: which S3 calls went over the wire in plaintext, to an endpoint that was supposed to be
//! HTTPS?
//!
//! ```text
//! source ──► decode ──► flow ──► proto ──► s3 ──► policy ──► report
//! (file,     (link,     (TCP      (HTTP/1.x  (operation,  (endpoints   (table, json,
//!  live,      IP, TCP    streams,  exchanges, bucket, key, configured  jsonl, markdown,
//!  run)       slices)    both      TLS hello) addressing)  as HTTPS,    redaction)
//!                        ways)                             findings)
//! ```
//! Each stage is a module; they meet only in `app`, through the plain data types each one exports.

pub mod app;
mod authority;
pub mod cli;
pub mod decode;
pub mod facts;
pub mod flow;
pub mod policy;
pub mod proto;
mod recent;
pub mod report;
pub mod s3;
pub mod sanitize;
pub mod source;
pub mod time;
pub mod undo;
