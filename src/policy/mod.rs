//! **policy**: which endpoints were supposed to be HTTPS, and what the capture shows against them.
//!
//! Endpoints come from four places, each kept with its origin so every report can say *why* a
//! host counts as HTTPS: `--endpoint` flags, the AWS environment and shared config file (resolved
//! the way botocore does, see [`aws_config`]), AWS's own S3 hosts ([`aws_hosts`]), and hosts the
//! capture shows speaking TLS ([`infer_endpoints`]). The [`Judge`] turns the typed facts about
//! requests, connection attempts and TLS sessions into [`Finding`]s as they stream by, with a
//! bounded look-ahead; [`evaluate()`] is the same judge over a whole capture at once. Pure: no
//! I/O; the caller reads files and the environment and passes their contents in.

pub mod aws_config;
pub mod aws_hosts;
mod clients;
pub mod endpoints;
pub mod evaluate;
pub mod finding;
pub mod hints;
mod inferred;
pub mod ini;
pub mod judge;
mod knowledge;
pub mod redirects;
mod retry_times;
pub mod severity;
mod verdict;

pub use aws_config::{ConfigError, Resolution, resolve, resolve_detailed};
pub use endpoints::{Endpoint, EndpointError, Origin, Policy, Scheme};
pub use evaluate::{evaluate, infer_endpoints};
pub use finding::{AttemptFacts, Finding, FindingKind, OperationGuess, RequestFacts, TlsFacts};
pub use judge::{Judge, JudgeStats, Judged};
pub use severity::{FailOn, Severity};
