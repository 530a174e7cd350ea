//! The HTTPS endpoints the capture proves (a ClientHello to the host), indexed by what a
//! lookup asks and bounded. A capture can show very many TLS hosts: a client of many
//! virtual-hosted buckets (each its own SNI), an egress proxy's traffic. Kept in a list that
//! every lookup and every new proof scanned, 200,000 of them took 57 s and 381 MiB
//! (`scripts/bench-hostile`'s `tls-servers`): a lookup is now a few map reads (the host, each
//! parent domain of it, the server IP), and past [`MAX_INFERRED`] hosts the one proven least
//! recently (by a ClientHello to it) is forgotten, counted in `forgotten`: a host in use is
//! kept whatever else the capture shows.

use super::endpoints::Endpoint;
use crate::flow::FastHash;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;

/// Hosts (with their port) proven HTTPS that are kept; past it, the one proven least recently
/// is forgotten.
pub const MAX_INFERRED: usize = 16_384;

#[derive(Debug, Clone, Default)]
pub struct Inferred {
    /// Every proof kept, first proven first (the key orders them: ties between equally good
    /// matches go to the later one, as they did in one list).
    by_seq: BTreeMap<u64, Proven>,
    next: u64,
    /// Named hosts' proofs (IP literals are in `by_ip`).
    by_name: HashMap<String, Vec<u64>, FastHash>,
    by_ip: HashMap<IpAddr, Vec<u64>, FastHash>,
    /// Each proof and each later ClientHello to it, as (proof, when): the least recent proof
    /// is the first whose `when` is still its `seen` (later entries of it make earlier ones
    /// stale). Compacted when stale entries outnumber the proofs.
    recent: VecDeque<(u64, u64)>,
    clock: u64,
    /// Proofs forgotten to keep [`MAX_INFERRED`].
    pub forgotten: u64,
}

#[derive(Debug, Clone)]
struct Proven {
    endpoint: Endpoint,
    ip: Option<IpAddr>,
    /// When a ClientHello last proved it (the `recent` clock).
    seen: u64,
    /// An endpoint given to the policy (a flag, the environment, the config) already has its
    /// scheme, host and port: the proof is remembered, so that it is not new again, but the
    /// given endpoint is the one that answers.
    shadowed: bool,
}

impl Inferred {
    /// Remembers `e`; false when its scheme, host and port are already proven (nothing
    /// changes). `shadowed`: a given endpoint has them (see [`Proven::shadowed`]).
    pub fn prove(&mut self, e: Endpoint, shadowed: bool) -> bool {
        if self.find(&e).is_some() {
            return false;
        }
        if self.by_seq.len() >= MAX_INFERRED {
            self.forget_least_recent();
        }
        let seq = self.next;
        self.next += 1;
        let ip = e.ip();
        match ip {
            Some(ip) => self.by_ip.entry(ip).or_default().push(seq),
            None => self.by_name.entry(e.host.clone()).or_default().push(seq),
        }
        let seen = self.tick(seq);
        self.by_seq.insert(
            seq,
            Proven {
                endpoint: e,
                ip,
                seen,
                shadowed,
            },
        );
        true
    }

    /// A ClientHello proving `e` again: true when it is kept, and then it is the most recent.
    pub fn touch(&mut self, e: &Endpoint) -> bool {
        let Some(seq) = self.find(e) else {
            return false;
        };
        let seen = self.tick(seq);
        if let Some(p) = self.by_seq.get_mut(&seq) {
            p.seen = seen;
        }
        if self.recent.len() > 2 * self.by_seq.len() + 64 {
            let mut live: Vec<(u64, u64)> = self.by_seq.iter().map(|(&s, p)| (p.seen, s)).collect();
            live.sort_unstable();
            self.recent = live.into_iter().map(|(when, s)| (s, when)).collect();
        }
        true
    }

    /// The clock's next reading, queued for `seq`.
    fn tick(&mut self, seq: u64) -> u64 {
        let now = self.clock;
        self.clock += 1;
        self.recent.push_back((seq, now));
        now
    }

    fn forget_least_recent(&mut self) {
        let seq = loop {
            let Some((seq, when)) = self.recent.pop_front() else {
                return;
            };
            if self.by_seq.get(&seq).is_some_and(|p| p.seen == when) {
                break seq;
            }
        };
        let Some(p) = self.by_seq.remove(&seq) else {
            return;
        };
        self.forgotten += 1;
        let unlist = |seqs: &mut Vec<u64>| {
            seqs.retain(|&s| s != seq);
            seqs.is_empty()
        };
        match p.ip {
            Some(ip) => {
                if self.by_ip.get_mut(&ip).is_some_and(unlist) {
                    self.by_ip.remove(&ip);
                }
            }
            None => {
                if self.by_name.get_mut(&p.endpoint.host).is_some_and(unlist) {
                    self.by_name.remove(&p.endpoint.host);
                }
            }
        }
    }

    /// The proof with `e`'s scheme, host and port, if kept.
    fn find(&self, e: &Endpoint) -> Option<u64> {
        let seqs = match e.ip() {
            Some(ip) => self.by_ip.get(&ip),
            None => self.by_name.get(e.host.as_str()),
        };
        seqs.into_iter().flatten().copied().find(|s| {
            self.by_seq.get(s).is_some_and(|p| {
                let x = &p.endpoint;
                x.scheme == e.scheme && x.host == e.host && x.port == e.port
            })
        })
    }

    /// Whether an endpoint with this scheme, host and port is proven (shadowed or not).
    pub fn has(&self, e: &Endpoint) -> bool {
        self.find(e).is_some()
    }

    /// The proven endpoints that may match `host` (normalised; a subdomain of an endpoint's
    /// host matches it) or the server at `ip`, first proven first; the caller matches each.
    pub fn candidates(
        &self,
        host: Option<&str>,
        ip: IpAddr,
    ) -> impl Iterator<Item = &Endpoint> + use<'_> {
        let mut seqs: Vec<u64> = Vec::new();
        let mut add = |s: Option<&Vec<u64>>| seqs.extend(s.into_iter().flatten().copied());
        // Most captures prove no host, or no IP literal: nothing to hash or parse.
        if !self.by_ip.is_empty() {
            add(self.by_ip.get(&ip));
            if let Some(Ok(named)) = host.map(str::parse::<IpAddr>)
                && named != ip
            {
                add(self.by_ip.get(&named));
            }
        }
        if let Some(h) = host.filter(|_| !self.by_name.is_empty()) {
            add(self.by_name.get(h));
            for (i, _) in h.match_indices('.') {
                add(self.by_name.get(&h[i + 1..]));
            }
        }
        seqs.sort_unstable();
        seqs.dedup();
        seqs.into_iter()
            .filter_map(|s| self.by_seq.get(&s))
            .filter(|p| !p.shadowed)
            .map(|p| &p.endpoint)
    }

    /// The endpoints that answer lookups, first proven first (the shadowed ones are left out).
    pub fn endpoints(&self) -> impl Iterator<Item = &Endpoint> {
        self.by_seq
            .values()
            .filter(|p| !p.shadowed)
            .map(|p| &p.endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::endpoints::{Origin, Scheme};

    fn proof(host: &str, port: u16) -> Endpoint {
        Endpoint {
            scheme: Scheme::Https,
            host: host.into(),
            port: Some(port),
            origin: Origin::Inferred,
            detail: String::new(),
        }
    }

    fn found(i: &Inferred, host: Option<&str>, ip: &str) -> Vec<String> {
        i.candidates(host, ip.parse().unwrap())
            .map(|e| format!("{}:{}", e.host, e.port.unwrap()))
            .collect()
    }

    #[test]
    fn lookups_find_the_host_its_parents_and_the_server_ip_first_proven_first() {
        let mut i = Inferred::default();
        assert!(i.prove(proof("b.example.test", 443), false));
        assert!(i.prove(proof("10.0.0.9", 443), false));
        assert!(i.prove(proof("a.b.example.test", 443), false));
        assert!(i.prove(proof("example.test", 8443), false));
        assert!(i.prove(proof("other.test", 443), false));
        assert!(
            !i.prove(proof("b.example.test", 443), false),
            "known: not new"
        );
        assert_eq!(
            found(&i, Some("a.b.example.test"), "10.0.0.9"),
            [
                "b.example.test:443",
                "10.0.0.9:443",
                "a.b.example.test:443",
                "example.test:8443"
            ]
        );
        assert_eq!(found(&i, Some("10.0.0.9"), "10.0.0.1"), ["10.0.0.9:443"]);
        assert_eq!(found(&i, None, "10.0.0.1"), Vec::<String>::new());
        assert_eq!(
            found(&i, Some("xb.example.test"), "10.0.0.1"),
            ["example.test:8443"]
        );
    }

    #[test]
    fn a_shadowed_proof_is_known_but_never_answers() {
        let mut i = Inferred::default();
        assert!(i.prove(proof("s3.local.test", 443), true));
        assert!(!i.prove(proof("s3.local.test", 443), false));
        assert!(i.has(&proof("s3.local.test", 443)));
        assert!(found(&i, Some("s3.local.test"), "10.0.0.1").is_empty());
        assert_eq!(i.endpoints().count(), 0);
    }

    #[test]
    fn past_the_bound_the_least_recently_proven_is_forgotten() {
        let mut i = Inferred::default();
        assert!(i.prove(proof("busy.s3.test", 443), false));
        for n in 0..MAX_INFERRED + 10 {
            // The busy host is proven again between others, three times each: stale entries
            // pile up in `recent` (~4 a proof without compaction) and are compacted.
            for _ in 0..3 {
                assert!(i.touch(&proof("busy.s3.test", 443)));
            }
            assert!(i.prove(proof(&format!("bucket-{n}.s3.test"), 443), false));
        }
        assert_eq!(i.forgotten, 11);
        assert!(
            i.recent.len() <= 2 * MAX_INFERRED + 64 + 1,
            "{}",
            i.recent.len()
        );
        assert_eq!(
            found(&i, Some("busy.s3.test"), "10.0.0.1"),
            ["busy.s3.test:443"]
        );
        assert!(found(&i, Some("bucket-10.s3.test"), "10.0.0.1").is_empty());
        assert_eq!(
            found(&i, Some("bucket-11.s3.test"), "10.0.0.1"),
            ["bucket-11.s3.test:443"]
        );
        assert!(!i.touch(&proof("bucket-0.s3.test", 443)), "forgotten");
        // Ties between equally good matches still go by first proof (the later one wins),
        // whatever was proven again since.
        assert!(i.prove(proof("s3.test", 8443), false));
        assert!(i.prove(proof("s3.test", 443), false));
        assert_eq!(
            found(&i, Some("x.s3.test"), "10.0.0.1"),
            ["s3.test:8443", "s3.test:443"]
        );
    }

    #[test]
    fn past_the_bound_the_first_proven_never_proven_again_is_forgotten_and_can_return() {
        let mut i = Inferred::default();
        for n in 0..MAX_INFERRED + 10 {
            assert!(i.prove(proof(&format!("bucket-{n}.s3.test"), 443), false));
        }
        assert_eq!(i.forgotten, 10);
        assert_eq!(i.endpoints().count(), MAX_INFERRED);
        assert_eq!(i.by_name.len(), MAX_INFERRED, "the index forgets them too");
        assert!(found(&i, Some("bucket-9.s3.test"), "10.0.0.1").is_empty());
        assert_eq!(
            found(&i, Some("bucket-10.s3.test"), "10.0.0.1"),
            ["bucket-10.s3.test:443"]
        );
        assert!(i.prove(proof("bucket-0.s3.test", 443), false), "new again");
        assert_eq!(i.forgotten, 11);
    }
}
