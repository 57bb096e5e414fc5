//! The public store conformance suite on the in-memory store.
#![cfg(feature = "test-suite")]

use std::sync::Arc;

use mfa_kit::store::MemoryStore;
use mfa_kit::store::conformance::{self, ThreadSpawner};

#[test]
fn memory_store_passes_the_conformance_suite() {
    pollster::block_on(conformance::run(Arc::new(MemoryStore::new()), &ThreadSpawner));
}

#[test]
fn racing_writers_on_threads_have_one_winner() {
    let store = Arc::new(MemoryStore::new());
    pollster::block_on(conformance::one_winner_among_racing_writers(store, &ThreadSpawner));
}

#[test]
fn memory_store_passes_the_org_settings_conformance_suite() {
    pollster::block_on(conformance::run_org_settings(Arc::new(MemoryStore::new()), &ThreadSpawner));
}

#[test]
fn memory_store_passes_the_notice_outbox_conformance_suite() {
    pollster::block_on(conformance::run_notice_outbox(Arc::new(MemoryStore::new()), &ThreadSpawner));
}

#[test]
fn two_organisations_on_one_service_over_the_memory_store_are_kept_apart() {
    let store = Arc::new(MemoryStore::new());
    pollster::block_on(mfa_kit::service::conformance::two_organisations_on_one_service(store));
}
