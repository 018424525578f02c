//! The server's reading of a `POST /v1/events` body, as `http.rs` does it:
//! `received::read`, then `ingest::check`, `lag_ms` and `statements`. Any
//! body gives a batch or a refusal, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;
use taproll_server::devices::Device;
use taproll_server::ingest;
use taproll_server::received::{self, Meaning, Received};

fuzz_target!(|data: &[u8]| {
    let (batch, events) = match received::read(data) {
        Ok(read) => read,
        Err(error) => {
            assert!(!error.to_string().is_empty());
            return;
        }
    };
    assert!(events.windows(2).all(|pair| pair[0].seq <= pair[1].seq));
    let mut ids = HashSet::new();
    assert!(
        events.iter().all(|e| ids.insert(e.event_id)),
        "an event twice"
    );
    let device = Device {
        id: "fuzz".to_string(),
        institution_id: 1,
        institution: "Fuzz".to_string(),
        room: "F1".to_string(),
        // Half the bodies come from a device bound to the seeds' device
        // id, half from a new one: check's every answer can be reached.
        device_id: data
            .len()
            .is_multiple_of(2)
            .then(|| "3f1c9a7e-8b2d-4e6f-a1c3-5d7e9f0b2a4c".to_string()),
        revoked: false,
    };
    if let Err(error) = ingest::check(&device, &batch, &events) {
        assert!(!error.to_string().is_empty());
        return;
    }
    let lag = ingest::lag_ms(&batch, &events);
    assert!(lag >= 0);
    let storable: Vec<&Received> = events
        .iter()
        .filter(|e| !matches!(e.meaning, Meaning::Broken(_)))
        .collect();
    let write = ingest::statements(&device, &batch, &storable, "2026-01-01T00:00:00Z", 0, lag);
    assert_eq!(write.items.len(), storable.len());
});
