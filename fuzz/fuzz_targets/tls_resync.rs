//! `s3wire::proto::tls::resync::Resync` (the search for a record after a hole) driving
//! `s3wire::proto::tls::cbc::CbcCipher::open_after_hole` (CBC-HMAC records, either MAC order) on
//! every candidate it proposes. Input: byte 0 picks what a header must look like and the MAC,
//! byte 1 the chunk size, the rest is the stream after the hole. Nothing may panic; the search
//! never claims more bytes than it was given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3wire::proto::tls::TlsVersion;
use s3wire::proto::tls::cbc::{CbcCipher, MacKind};
use s3wire::proto::tls::resync::{Expect, Resync, Step};

fuzz_target!(|data: &[u8]| {
    let [pick, chunk, stream @ ..] = data else {
        return;
    };
    let mac = [MacKind::Sha1, MacKind::Sha256, MacKind::Sha384][usize::from(pick % 3)];
    let key = if pick & 4 == 0 {
        &[7u8; 16][..]
    } else {
        &[7u8; 32][..]
    };
    let Some(mut cipher) = CbcCipher::new(key, mac, &vec![9u8; mac.output_len()], 0) else {
        return;
    };
    let expect = Expect {
        version: if pick & 8 == 0 {
            TlsVersion::TLS1_2
        } else {
            TlsVersion::TLS1_1
        },
        min_len: CbcCipher::MIN_BODY,
        max_len: if pick & 16 == 0 {
            (1 << 14) + 256
        } else {
            (1 << 14) + 2048
        },
    };
    let mut search = Resync::new(expect);
    let mut rest = stream;
    let chunk = usize::from(*chunk).max(1);
    while !rest.is_empty() {
        let (mut piece, tail) = rest.split_at(chunk.min(rest.len()));
        rest = tail;
        while !piece.is_empty() {
            search.push(&mut piece);
            loop {
                match search.step() {
                    Step::Candidate { header, body } => {
                        match cipher.open_after_hole(&header, body) {
                            Ok(_) => {
                                let after = search.finish();
                                assert!(after.len() <= stream.len());
                                return;
                            }
                            Err(tries) => search.reject(tries),
                        }
                    }
                    Step::NeedMore => break,
                    Step::GiveUp => return,
                }
            }
        }
        assert!(search.scanned() <= stream.len() as u64);
    }
});
