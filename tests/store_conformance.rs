//! The public store conformance suite on the in-memory store, one test per check.
#![cfg(feature = "test-suite")]

mod records {
    use std::sync::Arc;

    use mfa_kit::store::MemoryStore;
    use mfa_kit::store::conformance::ThreadSpawner;

    mfa_kit::store_conformance_tests!(records;
        store: async { Arc::new(MemoryStore::new()) },
        block_on: pollster::block_on,
        spawner: ThreadSpawner,
    );
}

mod org_settings {
    use std::sync::Arc;

    use mfa_kit::store::MemoryStore;
    use mfa_kit::store::conformance::ThreadSpawner;

    mfa_kit::store_conformance_tests!(org_settings;
        store: async { Arc::new(MemoryStore::new()) },
        block_on: pollster::block_on,
        spawner: ThreadSpawner,
    );
}

mod notice_outbox {
    use std::sync::Arc;

    use mfa_kit::store::MemoryStore;
    use mfa_kit::store::conformance::ThreadSpawner;

    mfa_kit::store_conformance_tests!(notice_outbox;
        store: async { Arc::new(MemoryStore::new()) },
        block_on: pollster::block_on,
        spawner: ThreadSpawner,
    );
}

#[test]
fn the_whole_suite_runs_in_one_call_too() {
    use mfa_kit::store::MemoryStore;
    use mfa_kit::store::conformance::{self, ThreadSpawner};
    use std::sync::Arc;

    pollster::block_on(conformance::run(Arc::new(MemoryStore::new()), &ThreadSpawner));
}

#[test]
fn two_organisations_on_one_service_over_the_memory_store_are_kept_apart() {
    let store = std::sync::Arc::new(mfa_kit::store::MemoryStore::new());
    pollster::block_on(mfa_kit::service::conformance::two_organisations_on_one_service(store));
}
