//! Property tests of the server's reading of a `POST /v1/events` body, as
//! `http.rs` does it (`received::read`, then `ingest::check` and
//! `statements`): any body gives a batch or a refusal that says why, never
//! a panic; an event of a known kind that does not read as one is rejected
//! alone, never the batch. `fuzz/` fuzzes the same (docs/fuzzing.md).
//!
//! Fixed seed and case counts, no persistence files: every run tries the
//! same inputs.

use crate::devices::Device;
use crate::ingest;
use crate::received::{self, Meaning, ReadError, Received};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use serde_json::Value;

/// A batch with one event of each of the nine kinds, in order.
const ALL_KINDS: &str = include_str!("../../../../fuzz/seeds/server_batch/all_kinds.json");

/// The fields every event has, whatever its kind.
const ENVELOPE: [&str; 6] = [
    "schema_version",
    "event_id",
    "device_id",
    "seq",
    "at",
    "kind",
];

fn cases(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(15),
        ..ProptestConfig::default()
    }
}

/// Reads `body` as the server does, and checks what any outcome promises.
fn read(body: &[u8]) -> Result<Vec<Received>, ReadError> {
    let (batch, events) = match received::read(body) {
        Ok(read) => read,
        Err(error) => {
            assert!(!error.to_string().is_empty());
            return Err(error);
        }
    };
    assert!(events.windows(2).all(|pair| pair[0].seq <= pair[1].seq));
    let device = Device {
        id: "d1".to_string(),
        institution_id: 1,
        institution: "Uni".to_string(),
        room: "A1".to_string(),
        device_id: None,
        revoked: false,
    };
    match ingest::check(&device, &batch, &events) {
        Ok(()) => {
            let lag = ingest::lag_ms(&batch, &events);
            assert!(lag >= 0);
            let storable: Vec<&Received> = events
                .iter()
                .filter(|e| !matches!(e.meaning, Meaning::Broken(_)))
                .collect();
            let write =
                ingest::statements(&device, &batch, &storable, "2026-11-30T09:05:00Z", 0, lag);
            assert_eq!(write.items.len(), storable.len());
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
    Ok(events)
}

/// Any JSON value, nested a little.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,20}".prop_map(Value::from),
        Just(Value::from("2026-11-30T09:04:12.345+01:00")),
        Just(Value::from("019ad1c2-5b3e-7c10-9a4e-2f6d1e0b7a99")),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..3)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn any_body_gives_a_batch_or_a_refusal(body in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = read(&body);
    }

    #[test]
    fn json_like_bodies_give_a_batch_or_a_refusal(
        body in "(\\{|\\}|\\[|\\]|:|,|\"|protocol|device_id|sent_at|events|seq|kind|tap|1|null| )*",
    ) {
        let _ = read(body.as_bytes());
    }
}

proptest! {
    #![proptest_config(cases(256))]

    /// One field of one event changed to any JSON value (or removed): a
    /// field of the kind leaves a batch of nine, that event rejected alone
    /// if it no longer reads; only an envelope field can refuse the batch,
    /// and then the refusal names that event.
    #[test]
    fn a_changed_event_field_is_rejected_alone(
        event in 0usize..9,
        field in any::<prop::sample::Index>(),
        value in prop::option::of(json()),
    ) {
        let mut batch: Value = serde_json::from_str(ALL_KINDS).unwrap();
        let object = batch["events"][event].as_object_mut().unwrap();
        let names: Vec<String> = object.keys().cloned().collect();
        let name = field.get(&names).clone();
        match value {
            Some(value) => object.insert(name.clone(), value),
            None => object.remove(&name),
        };
        let body = serde_json::to_vec(&batch).unwrap();
        match read(&body) {
            Ok(events) => {
                prop_assert_eq!(events.len(), 9);
                let broken = events
                    .iter()
                    .filter(|e| matches!(e.meaning, Meaning::Broken(_)))
                    .count();
                prop_assert!(broken <= 1);
            }
            Err(ReadError::NoEnvelope { index, .. }) => {
                prop_assert!(ENVELOPE.contains(&name.as_str()), "{} refused the batch", name);
                prop_assert_eq!(index, event + 1);
            }
            Err(other) => prop_assert!(false, "{}", other),
        }
    }
}
