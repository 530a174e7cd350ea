//! `s3wire::proto::tls::TlsConnection`: two directions of TLS bytes in `chunks` records →
//! record layer, handshake reassembly, ClientHello/ServerHello parsing and, for connections the
//! fixtures' key logs cover (embedded below), record decryption. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3wire::proto::ProtoLimits;
use s3wire::proto::tls::{KeyLog, TlsConnection};
use s3wire::time::Timestamp;
use s3wire_fuzz::Chunk;
use std::sync::{Arc, OnceLock};

/// The bundled captures' key logs, parsed once.
fn keylog() -> Arc<KeyLog> {
    static LOG: OnceLock<Arc<KeyLog>> = OnceLock::new();
    LOG.get_or_init(|| Arc::new(KeyLog::parse(&s3wire_fuzz::FIXTURE_KEYLOGS.join("\n")).0))
        .clone()
}

fuzz_target!(|data: &[u8]| {
    let mut tls = TlsConnection::with_keylog(&ProtoLimits::default(), Some(keylog()));
    let mut out = Vec::new();
    let mut plain = Vec::new();
    let mut ts = Timestamp::from_secs_nanos(1_764_000_000, 0);
    for chunk in s3wire_fuzz::chunks(data) {
        ts = Timestamp(ts.0.saturating_add(1_000));
        match chunk {
            Chunk::Data(dir, bytes) => tls.on_data_plain(dir, ts, bytes, &mut out, &mut plain),
            Chunk::Gap(dir, len) => tls.on_gap(dir, len),
        }
    }
    let _ = (
        tls.client_hello(),
        tls.server_hello(),
        tls.version(),
        tls.transport(),
    );
    let _ = tls.decryption();
});
