//! Which findings fail the run (exit status 1) and which are warnings. The question s3wire
//! exists for is "did S3 traffic go in plaintext to an endpoint that was supposed to be HTTPS?":
//! those kinds fail by default. Cleartext credentials to a host nobody configured as HTTPS (a
//! local MinIO on `http://localhost:9000`) are worth a warning, not a failed build, unless the
//! user asks for it with `--fail-on`.

use super::FindingKind;
use crate::facts::Owner;
use serde::Serialize;

/// How a finding counts towards the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Fails the run (exit status 1).
    Error,
    /// Shown in every format; the exit status stays 0.
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// The finding kinds that fail the run: the default set, widened by `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailOn {
    /// One bit per [`FindingKind::ALL`] entry.
    bits: u8,
}

impl Default for FailOn {
    /// Plaintext to an HTTPS-configured or HTTPS-proven endpoint, and refused plaintext attempts
    /// to one.
    fn default() -> Self {
        FailOn::none()
            .with(FindingKind::PlaintextToHttpsEndpoint)
            .with(FindingKind::PlaintextToTlsPort)
            .with(FindingKind::RefusedPlaintextAttempt)
    }
}

impl FailOn {
    const fn none() -> FailOn {
        FailOn { bits: 0 }
    }

    /// Every kind fails (`--fail-on all`).
    pub fn all() -> FailOn {
        FindingKind::ALL
            .iter()
            .fold(FailOn::none(), |f, k| f.with(*k))
    }

    pub fn with(self, kind: FindingKind) -> FailOn {
        FailOn {
            bits: self.bits | bit(kind),
        }
    }

    pub fn fails(self, kind: FindingKind) -> bool {
        self.bits & bit(kind) != 0
    }

    pub fn severity(self, kind: FindingKind) -> Severity {
        if self.fails(kind) {
            Severity::Error
        } else {
            Severity::Warning
        }
    }

    /// The severity of a finding about traffic of `owner`: `run`'s traffic whose owner is
    /// unknown is listed but never fails the run as the command's, whatever its kind.
    pub fn severity_for(self, kind: FindingKind, owner: Option<Owner>) -> Severity {
        match owner {
            Some(Owner::Unknown) => Severity::Warning,
            _ => self.severity(kind),
        }
    }

    /// The kinds that fail, in [`FindingKind::ALL`] order.
    pub fn kinds(self) -> impl Iterator<Item = FindingKind> {
        FindingKind::ALL.into_iter().filter(move |k| self.fails(*k))
    }
}

fn bit(kind: FindingKind) -> u8 {
    1 << kind.rank()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_default_only_cleartext_credentials_are_a_warning() {
        let f = FailOn::default();
        assert_eq!(
            f.kinds().collect::<Vec<_>>(),
            [
                FindingKind::PlaintextToHttpsEndpoint,
                FindingKind::PlaintextToTlsPort,
                FindingKind::RefusedPlaintextAttempt
            ]
        );
        assert_eq!(
            f.severity(FindingKind::CredentialsInCleartext),
            Severity::Warning
        );
        assert_eq!(
            f.with(FindingKind::CredentialsInCleartext)
                .severity(FindingKind::CredentialsInCleartext),
            Severity::Error
        );
        assert_eq!(FailOn::all().kinds().count(), FindingKind::ALL.len());
        let plain = FindingKind::PlaintextToHttpsEndpoint;
        assert_eq!(f.severity_for(plain, Some(Owner::Command)), Severity::Error);
        assert_eq!(f.severity_for(plain, None), Severity::Error);
        assert_eq!(
            FailOn::all().severity_for(plain, Some(Owner::Unknown)),
            Severity::Warning,
            "an unknown owner never fails the run"
        );
        // `rank` is the position in ALL (the declaration order), which the bits rely on.
        for (i, k) in FindingKind::ALL.iter().enumerate() {
            assert_eq!(k.rank(), i);
        }
    }
}
