//! What the capture has taught so far, indexed so that judging one request costs the same
//! whatever the capture's size: the TLS servers, the names tied to each server IP, and the names
//! each client reached over TLS. Every set is keyed by what a lookup asks (client IP, server
//! address), never scanned.
//!
//! Each set grows with the distinct hosts and addresses the capture shows, not with its requests;
//! the per-key sets are capped so that a scan of random names cannot make them grow without end
//! (what a cap leaves out is counted in `capped`), and so is the number of clients whose TLS
//! names are kept ([`MAX_TLS_CLIENTS`], the first seen forgotten first: `clients_forgotten`),
//! and the number of TLS server addresses and of named server IPs ([`MAX_SERVERS`] each, the
//! same way: `servers_forgotten`). Without those bounds, a capture of many TLS clients (a front
//! end's, a handshake flood) kept ~550 bytes a client for the whole run: 100,000 clients a
//! millisecond apart peaked at 75.6 MiB, 400,000 at 234.7 MiB; and one of many servers (an
//! egress proxy's, a client of many buckets at many addresses) ~400 bytes a server.

use super::endpoints::{normalise_host, parse_host_header};
use super::redirects::{Redirect, Redirects};
use crate::facts::{Request, TlsHello};
use crate::policy::Scheme;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};

/// Names kept per server IP or per client (more are counted, not kept).
const MAX_NAMES_PER_KEY: usize = 256;
/// Clients whose TLS names are kept; past it, the client first seen is forgotten.
const MAX_TLS_CLIENTS: usize = 8192;
/// TLS server addresses kept, and server IPs whose names are kept; past either, the first
/// seen is forgotten.
const MAX_SERVERS: usize = 8192;

#[derive(Debug, Default)]
pub struct Knowledge {
    /// Server addresses the capture shows speaking TLS (a ClientHello was sent to them).
    tls_servers: HashSet<SocketAddr>,
    /// The addresses of `tls_servers`, first seen first.
    tls_server_order: VecDeque<SocketAddr>,
    /// Host names the capture ties to each server IP (Host headers, SNIs).
    hosts_by_ip: HashMap<IpAddr, BTreeSet<String>>,
    /// The IPs of `hosts_by_ip`, first seen first.
    named_ips: VecDeque<IpAddr>,
    /// TLS servers and named server IPs forgotten to keep [`MAX_SERVERS`] of each.
    pub servers_forgotten: u64,
    /// Per client IP: where it spoke TLS (SNIs, Host headers of decrypted requests, and server
    /// IPs of sessions without SNI).
    tls_names: HashMap<IpAddr, ClientNames>,
    /// The clients of `tls_names`, first seen first: the next one forgotten at the front.
    tls_clients: VecDeque<IpAddr>,
    /// Clients whose TLS names were forgotten to keep [`MAX_TLS_CLIENTS`].
    pub clients_forgotten: u64,
    /// Redirects to `http://` per client (bounded), for the redirect hint.
    redirects: Redirects,
    /// Names a cap left out.
    pub capped: u64,
    /// The last request's (scheme, client IP, server IP) and Host, once what it teaches is
    /// known: the requests of a client mostly repeat it, and learning it again changes nothing.
    last: Option<(Learned, String)>,
    /// Counts the changes to what a lookup answers (a server, name or address added): an
    /// answer remembered at one count holds as long as the count stays.
    generation: u64,
}

type Learned = (Scheme, IpAddr, IpAddr);

/// The names one client reached over TLS, and every parent domain of them, so that "a related
/// host" (the same name, a subdomain or a parent) is a few set lookups.
#[derive(Debug, Default)]
struct ClientNames {
    exact: HashSet<String>,
    /// Proper parent domains of the exact names (`b.c` and `c` for `a.b.c`).
    parents: HashSet<String>,
    /// Servers of TLS sessions without SNI.
    ips: HashSet<IpAddr>,
}

/// What adding a name to a capped set did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Added {
    New,
    Known,
    Capped,
}

impl ClientNames {
    fn add(&mut self, name: &str) -> Added {
        if self.exact.contains(name) {
            return Added::Known;
        }
        if self.exact.len() >= MAX_NAMES_PER_KEY {
            return Added::Capped;
        }
        for p in parents(name) {
            self.parents.insert(p.to_string());
        }
        self.exact.insert(name.to_string());
        Added::New
    }

    /// `host` is one of the names, a subdomain of one, or a parent of one.
    fn related(&self, host: &str) -> bool {
        self.exact.contains(host)
            || self.parents.contains(host)
            || parents(host).any(|p| self.exact.contains(p))
    }
}

/// `key`, new to the set whose keys `order` holds (first seen first), queued as the newest;
/// past `bound` keys, the first is taken off and returned, for the caller to forget.
fn keep_bounded<K>(order: &mut VecDeque<K>, key: K, bound: usize) -> Option<K> {
    order.push_back(key);
    if order.len() <= bound {
        return None;
    }
    order.pop_front()
}

/// `b.c`, `c` for `a.b.c`: each proper parent domain.
fn parents(name: &str) -> impl Iterator<Item = &str> {
    name.match_indices('.').map(move |(i, _)| &name[i + 1..])
}

impl Knowledge {
    /// A ClientHello: its server speaks TLS, its SNI names the server IP and is a TLS name of
    /// its client.
    pub fn learn_tls(&mut self, t: &TlsHello) {
        let mut new = self.tls_servers.insert(t.server);
        if new && let Some(first) = keep_bounded(&mut self.tls_server_order, t.server, MAX_SERVERS)
        {
            self.tls_servers.remove(&first);
            self.servers_forgotten += 1;
        }
        let names = self.client_names(t.client.ip());
        match t.sni.as_deref().map(normalise_host) {
            Some(sni) if !sni.is_empty() => {
                match names.add(&sni) {
                    Added::New => new = true,
                    Added::Known => {}
                    Added::Capped => self.capped += 1,
                }
                self.name_ip(t.server.ip(), &sni);
            }
            _ => new |= names.ips.insert(t.server.ip()),
        }
        self.generation += u64::from(new);
    }

    /// The count of changes so far (see the field): equal counts, equal answers.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// A request: its Host names the server IP; a decrypted one is a TLS name of its client;
    /// a redirect to `http://` is remembered for its client.
    pub fn learn_request(&mut self, r: &Request) {
        self.redirects.learn(r);
        let Some(raw) = r.host.as_deref() else {
            return;
        };
        let key = (r.scheme, r.client.ip(), r.server.ip());
        if self
            .last
            .as_ref()
            .is_some_and(|(k, h)| *k == key && h == raw)
        {
            return;
        }
        let host = parse_host_header(raw).0;
        if host.is_empty() {
            return;
        }
        let mut kept = true;
        if r.scheme == Scheme::Https {
            let names = self.client_names(r.client.ip());
            match names.add(&host) {
                Added::New => self.generation += 1,
                Added::Known => {}
                Added::Capped => {
                    self.capped += 1;
                    kept = false;
                }
            }
        }
        kept &= self.name_ip(r.server.ip(), &host);
        // Only what every set now holds: a name a cap left out is counted again each time.
        if kept {
            let (k, h) = self.last.get_or_insert_with(|| (key, String::new()));
            *k = key;
            h.clear();
            h.push_str(raw);
        }
    }

    /// `client`'s TLS names, made empty for a client not kept yet: then, past
    /// [`MAX_TLS_CLIENTS`], the client first seen is forgotten (and what lookups answer
    /// changes: `generation`).
    fn client_names(&mut self, client: IpAddr) -> &mut ClientNames {
        if !self.tls_names.contains_key(&client)
            && let Some(first) = keep_bounded(&mut self.tls_clients, client, MAX_TLS_CLIENTS)
        {
            self.tls_names.remove(&first);
            self.clients_forgotten += 1;
            self.generation += 1;
            // A repeat of the last request learns again what was forgotten of it.
            if self.last.as_ref().is_some_and(|((_, c, _), _)| *c == first) {
                self.last = None;
            }
        }
        self.tls_names.entry(client).or_default()
    }

    /// Ties `host` to `ip`; false when the cap left it out. Past [`MAX_SERVERS`] named IPs,
    /// the first named is forgotten.
    fn name_ip(&mut self, ip: IpAddr, host: &str) -> bool {
        if !self.hosts_by_ip.contains_key(&ip)
            && let Some(first) = keep_bounded(&mut self.named_ips, ip, MAX_SERVERS)
        {
            self.hosts_by_ip.remove(&first);
            self.servers_forgotten += 1;
            self.generation += 1;
            // A repeat of the last request learns again what was forgotten of it.
            if self.last.as_ref().is_some_and(|((_, _, s), _)| *s == first) {
                self.last = None;
            }
        }
        let names = self.hosts_by_ip.entry(ip).or_default();
        if names.contains(host) {
            return true;
        }
        if names.len() >= MAX_NAMES_PER_KEY {
            self.capped += 1;
            return false;
        }
        names.insert(host.to_string());
        self.generation += 1;
        true
    }

    /// The earlier redirect to `http://` this request followed, if any.
    pub fn redirect_followed(&self, r: &Request) -> Option<&Redirect> {
        self.redirects.followed_by(r)
    }

    pub fn is_tls_server(&self, a: SocketAddr) -> bool {
        self.tls_servers.contains(&a)
    }

    /// Host names the capture ties to this IP, in name order.
    pub fn hosts_of(&self, ip: IpAddr) -> impl Iterator<Item = &String> {
        self.hosts_by_ip.get(&ip).into_iter().flatten()
    }

    pub fn ip_named(&self, ip: IpAddr, host: &str) -> bool {
        self.hosts_by_ip.get(&ip).is_some_and(|n| n.contains(host))
    }

    /// Did this client IP also speak TLS to `host` (the same name, a subdomain or parent of it,
    /// or the same server IP when no SNI was sent)?
    pub fn client_used_tls(&self, client: IpAddr, host: &str, server: IpAddr) -> bool {
        self.tls_names
            .get(&client)
            .is_some_and(|n| n.related(host) || n.ips.contains(&server))
    }
}

/// Same name, or one a subdomain of the other (virtual-hosted bucket vs. endpoint host).
pub fn related_hosts(a: &str, b: &str) -> bool {
    let sub = |x: &str, y: &str| x.strip_suffix(y).is_some_and(|p| p.ends_with('.'));
    a == b || sub(a, b) || sub(b, a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn related_names_are_found_by_lookup_both_ways() {
        let mut n = ClientNames::default();
        n.add("bucket.s3.local.test");
        assert!(n.related("bucket.s3.local.test"));
        assert!(n.related("s3.local.test"), "a parent of a TLS name");
        assert!(n.related("local.test"));
        assert!(!n.related("other.test"));
        assert!(!n.related("ucket.s3.local.test"), "not a label boundary");
        let mut m = ClientNames::default();
        m.add("s3.local.test");
        assert!(
            m.related("bucket.s3.local.test"),
            "a subdomain of a TLS name"
        );
        assert!(!m.related("bucket.s3.local.testx"));
        for (a, b) in [("s3.local.test", "bucket.s3.local.test"), ("x.y", "x.y")] {
            assert!(related_hosts(a, b) && related_hosts(b, a));
        }
        assert!(!related_hosts("ucket.s3.x", "bucket.s3.x"));
    }

    #[test]
    fn names_per_key_are_capped_and_counted() {
        let mut k = Knowledge::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for i in 0..MAX_NAMES_PER_KEY + 10 {
            k.name_ip(ip, &format!("h{i}.test"));
        }
        assert_eq!(k.hosts_of(ip).count(), MAX_NAMES_PER_KEY);
        assert_eq!(k.capped, 10);
    }

    /// Past the bound the TLS server and the named server IP first seen are forgotten and
    /// counted; the ones kept are still found, and one seen again is learned again.
    #[test]
    fn tls_servers_and_named_ips_are_bounded_first_seen_forgotten_first() {
        let mut k = Knowledge::default();
        let client: SocketAddr = "10.0.0.1:40000".parse().unwrap();
        let server =
            |i: u32| SocketAddr::new(std::net::Ipv4Addr::from(0x0b00_0000u32 + i).into(), 443);
        let hello = |i: u32| TlsHello {
            time: crate::time::Timestamp(0),
            client,
            server: server(i),
            sni: Some(format!("bucket-{i}.s3.example.test")),
        };
        let n = MAX_SERVERS as u32;
        for i in 0..n {
            k.learn_tls(&hello(i));
        }
        assert_eq!(k.servers_forgotten, 0);
        for i in n..n + 10 {
            k.learn_tls(&hello(i));
        }
        // Each server counted twice: its address as a TLS server, its IP as named.
        assert_eq!(k.servers_forgotten, 20);
        assert_eq!(k.tls_servers.len(), MAX_SERVERS);
        assert_eq!(k.tls_server_order.len(), MAX_SERVERS);
        assert_eq!(k.hosts_by_ip.len(), MAX_SERVERS);
        assert_eq!(k.named_ips.len(), MAX_SERVERS);
        assert!(!k.is_tls_server(server(9)), "first seen, forgotten");
        assert!(k.is_tls_server(server(10)), "kept");
        assert!(!k.ip_named(server(9).ip(), "bucket-9.s3.example.test"));
        assert!(k.ip_named(server(10).ip(), "bucket-10.s3.example.test"));
        assert!(k.ip_named(
            server(n + 9).ip(),
            &format!("bucket-{}.s3.example.test", n + 9)
        ));
        // Seen again, a forgotten server is learned again.
        k.learn_tls(&hello(0));
        assert!(k.is_tls_server(server(0)));
        assert!(k.ip_named(server(0).ip(), "bucket-0.s3.example.test"));
    }

    /// Past the bound the client first seen is forgotten, counted, and what lookups answer
    /// changes (the generation moves); the clients kept are still found.
    #[test]
    fn tls_clients_are_bounded_first_seen_forgotten_first() {
        let mut k = Knowledge::default();
        let server: SocketAddr = "10.255.0.1:443".parse().unwrap();
        let client = |i: u32| IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000u32 + i));
        let hello = |i: u32| TlsHello {
            time: crate::time::Timestamp(0),
            client: SocketAddr::new(client(i), 40000),
            server,
            sni: Some("s3.example.test".into()),
        };
        let n = MAX_TLS_CLIENTS as u32;
        for i in 0..n {
            k.learn_tls(&hello(i));
        }
        assert_eq!(k.clients_forgotten, 0);
        let before = k.generation();
        // The first client again: known, nothing forgotten.
        k.learn_tls(&hello(0));
        assert_eq!((k.clients_forgotten, k.generation()), (0, before));
        for i in n..n + 10 {
            k.learn_tls(&hello(i));
        }
        assert_eq!(k.clients_forgotten, 10);
        assert!(k.generation() > before);
        assert_eq!(k.tls_names.len(), MAX_TLS_CLIENTS);
        assert_eq!(k.tls_clients.len(), MAX_TLS_CLIENTS);
        let ip = server.ip();
        assert!(
            !k.client_used_tls(client(0), "s3.example.test", ip),
            "first seen, forgotten"
        );
        assert!(!k.client_used_tls(client(9), "s3.example.test", ip));
        assert!(k.client_used_tls(client(10), "s3.example.test", ip), "kept");
        assert!(
            k.client_used_tls(client(n + 9), "s3.example.test", ip),
            "the newest"
        );
    }

    #[test]
    fn a_request_repeating_the_last_one_teaches_what_it_did() {
        let mut k = Knowledge::default();
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        let mut r = Request::sample(1, crate::time::Timestamp(0), "10.0.0.1:5000", "10.0.0.9:80");
        r.host = Some("S3.Test:80".into());
        for _ in 0..2 {
            k.learn_request(&r);
        }
        assert!(k.ip_named(ip, "s3.test") && k.capped == 0);
        // Over TLS the same Host is a TLS name of the client too: not the same lesson.
        r.scheme = Scheme::Https;
        k.learn_request(&r);
        assert!(k.client_used_tls(r.client.ip(), "s3.test", ip));
        // A name the cap leaves out is counted each time it comes.
        for i in 1..MAX_NAMES_PER_KEY {
            k.name_ip(ip, &format!("h{i}.test"));
        }
        r.host = Some("late.test".into());
        for _ in 0..3 {
            k.learn_request(&r);
        }
        assert!(!k.ip_named(ip, "late.test"));
        assert_eq!(k.capped, 3);
    }
}
