//! pcap / pcapng files and stdin, read in pure Rust with `pcap-parser`. STUB: replaced by owner.
