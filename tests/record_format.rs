//! The serialised record is a stored format: this test pins it (format version 4) and
//! checks the records older versions wrote still read.
//! If it fails, the change breaks every host's stored records: bump
//! `UserRecord::FORMAT`, write a migration, and note it in the changelog.

mod common;

use common::*;
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::otp::{Algorithm, Secret};
use mfa_kit::record::UserRecord;
use mfa_kit::{Method, UserId};

const PINNED: &str = r#"{
  "format": 5,
  "user": "sarah",
  "org": "acme",
  "authenticators": [
    {
      "id": "000000006553f11e",
      "name": "Authenticator app",
      "secret": {
        "key_id": "plaintext-insecure",
        "ciphertext": "AAAAABLTMFZGC2BRGIZTINJWG44DSMBRGIZTINJWG44DSMA"
      },
      "params": {
        "algorithm": "SHA1",
        "digits": 6,
        "period": 30,
        "t0": 0
      },
      "created_at": 1700000030,
      "last_used_at": 1700000060,
      "last_accepted_step": 56666668,
      "drift": -1
    },
    {
      "id": "9f3c2a7be1d04c55",
      "name": "Backup phone",
      "secret": {
        "key_id": "plaintext-insecure",
        "ciphertext": "AAAAABLTMFZGC2BRGIZTINJWG44DSMBRGIZTINJWG44DSMA"
      },
      "params": {
        "algorithm": "SHA1",
        "digits": 6,
        "period": 30,
        "t0": 0
      },
      "created_at": 1700000120,
      "last_used_at": null,
      "last_accepted_step": 56666671,
      "drift": 0
    }
  ],
  "security_keys": [
    {
      "id": "5be0c3a1d2e4f607",
      "name": "YubiKey",
      "credential_id": "AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYPQ",
      "public_key": "{\"type_\":\"ES256\",\"key\":\"…\"}",
      "counter": 17,
      "user_verified": true,
      "backup_eligible": false,
      "backup_state": false,
      "discoverable": true,
      "created_at": 1700000200,
      "last_used_at": 1700000260
    }
  ],
  "user_handle": "VKVKVKVKVKVKVKVKVKVKVKVKVI",
  "ceremony": {
    "kind": "authentication",
    "state": "{\"challenge\":\"…\"}",
    "started_at": 1700000270,
    "expires_at": 1700000570
  },
  "pending_enrollment": {
    "secret": {
      "key_id": "plaintext-insecure",
      "ciphertext": "AAAAABLTMFZGC2BRGIZTINJWG44DSMBRGIZTINJWG44DSMA"
    },
    "params": {
      "algorithm": "SHA256",
      "digits": 8,
      "period": 60,
      "t0": 0
    },
    "started_at": 1700000100,
    "expires_at": 1700000700,
    "failed_attempts": 2,
    "account": null,
    "starts": [],
    "adding": "Desktop app"
  },
  "failures": {
    "consecutive": 3,
    "locked_until": null,
    "locked_at": null,
    "lockouts": 0,
    "disabled_at": null
  },
  "recovery": {
    "generated_at": 1700000090,
    "entries": [
      {
        "hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "used_at": null
      },
      {
        "hash": "BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "used_at": 1700000095
      }
    ]
  },
  "oob": {
    "destinations": [
      {
        "destination": {
          "kind": "sms",
          "address": "+61412345678"
        },
        "role": "backup",
        "added_at": 1700000100,
        "confirmed_at": 1700000160
      }
    ],
    "challenge": {
      "purpose": "sign_in",
      "role": "backup",
      "hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "expires_at": 1700000800,
      "attempts": 1,
      "issued_at": null
    },
    "sent_at": [
      1700000200
    ]
  },
  "devices": [
    {
      "id": "0123456789abcdef",
      "label": "Firefox on Windows",
      "hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "created_at": 1700000300,
      "expires_at": 1700043500
    }
  ],
  "proofs": {
    "totp": 1700000060,
    "recovery_code": 1700000095,
    "security_key": 1700000260
  },
  "must_enroll": false,
  "generation": 4,
  "refusals": {
    "since": 1700000300,
    "logged": 10,
    "unlogged": 25
  },
  "frozen": {
    "since": 1700000900,
    "event_id": 4711
  },
  "disowned": [
    4711
  ]
}"#;

/// The same record as format 4 wrote it: no organisation.
const PINNED_FORMAT_4: &str = r#"{
  "format": 4,
  "user": "sarah",
  "authenticators": [
    {
      "id": "000000006553f11e",
      "name": "Authenticator app",
      "secret": {
        "key_id": "plaintext-insecure",
        "ciphertext": "AAAAABLTMFZGC2BRGIZTINJWG44DSMBRGIZTINJWG44DSMA"
      },
      "params": {
        "algorithm": "SHA1",
        "digits": 6,
        "period": 30,
        "t0": 0
      },
      "created_at": 1700000030,
      "last_used_at": 1700000060,
      "last_accepted_step": 56666668,
      "drift": -1
    },
    {
      "id": "9f3c2a7be1d04c55",
      "name": "Backup phone",
      "secret": {
        "key_id": "plaintext-insecure",
        "ciphertext": "AAAAABLTMFZGC2BRGIZTINJWG44DSMBRGIZTINJWG44DSMA"
      },
      "params": {
        "algorithm": "SHA1",
        "digits": 6,
        "period": 30,
        "t0": 0
      },
      "created_at": 1700000120,
      "last_used_at": null,
      "last_accepted_step": 56666671,
      "drift": 0
    }
  ],
  "security_keys": [
    {
      "id": "5be0c3a1d2e4f607",
      "name": "YubiKey",
      "credential_id": "AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYPQ",
      "public_key": "{\"type_\":\"ES256\",\"key\":\"…\"}",
      "counter": 17,
      "user_verified": true,
      "backup_eligible": false,
      "backup_state": false,
      "discoverable": true,
      "created_at": 1700000200,
      "last_used_at": 1700000260
    }
  ],
  "user_handle": "VKVKVKVKVKVKVKVKVKVKVKVKVI",
  "ceremony": {
    "kind": "authentication",
    "state": "{\"challenge\":\"…\"}",
    "started_at": 1700000270,
    "expires_at": 1700000570
  },
  "pending_enrollment": {
    "secret": {
      "key_id": "plaintext-insecure",
      "ciphertext": "AAAAABLTMFZGC2BRGIZTINJWG44DSMBRGIZTINJWG44DSMA"
    },
    "params": {
      "algorithm": "SHA256",
      "digits": 8,
      "period": 60,
      "t0": 0
    },
    "started_at": 1700000100,
    "expires_at": 1700000700,
    "failed_attempts": 2,
    "account": null,
    "starts": [],
    "adding": "Desktop app"
  },
  "failures": {
    "consecutive": 3,
    "locked_until": null,
    "locked_at": null,
    "lockouts": 0,
    "disabled_at": null
  },
  "recovery": {
    "generated_at": 1700000090,
    "entries": [
      {
        "hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "used_at": null
      },
      {
        "hash": "BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "used_at": 1700000095
      }
    ]
  },
  "oob": {
    "destinations": [
      {
        "destination": {
          "kind": "sms",
          "address": "+61412345678"
        },
        "role": "backup",
        "added_at": 1700000100,
        "confirmed_at": 1700000160
      }
    ],
    "challenge": {
      "purpose": "sign_in",
      "role": "backup",
      "hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "expires_at": 1700000800,
      "attempts": 1,
      "issued_at": null
    },
    "sent_at": [
      1700000200
    ]
  },
  "devices": [
    {
      "id": "0123456789abcdef",
      "label": "Firefox on Windows",
      "hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "created_at": 1700000300,
      "expires_at": 1700043500
    }
  ],
  "proofs": {
    "totp": 1700000060,
    "recovery_code": 1700000095,
    "security_key": 1700000260
  },
  "must_enroll": false,
  "generation": 4,
  "refusals": {
    "since": 1700000300,
    "logged": 10,
    "unlogged": 25
  },
  "frozen": {
    "since": 1700000900,
    "event_id": 4711
  },
  "disowned": [
    4711
  ]
}"#;

/// The same record as format 3 wrote it: no security keys.
const PINNED_FORMAT_3: &str = r#"{
  "format": 3,
  "user": "sarah",
  "authenticators": [
    {
      "id": "000000006553f11e",
      "name": "Authenticator app",
      "secret": {
        "key_id": "plaintext-insecure",
        "ciphertext": "AAAAABLTMFZGC2BRGIZTINJWG44DSMBRGIZTINJWG44DSMA"
      },
      "params": {
        "algorithm": "SHA1",
        "digits": 6,
        "period": 30,
        "t0": 0
      },
      "created_at": 1700000030,
      "last_used_at": 1700000060,
      "last_accepted_step": 56666668,
      "drift": -1
    },
    {
      "id": "9f3c2a7be1d04c55",
      "name": "Backup phone",
      "secret": {
        "key_id": "plaintext-insecure",
        "ciphertext": "AAAAABLTMFZGC2BRGIZTINJWG44DSMBRGIZTINJWG44DSMA"
      },
      "params": {
        "algorithm": "SHA1",
        "digits": 6,
        "period": 30,
        "t0": 0
      },
      "created_at": 1700000120,
      "last_used_at": null,
      "last_accepted_step": 56666671,
      "drift": 0
    }
  ],
  "pending_enrollment": {
    "secret": {
      "key_id": "plaintext-insecure",
      "ciphertext": "AAAAABLTMFZGC2BRGIZTINJWG44DSMBRGIZTINJWG44DSMA"
    },
    "params": {
      "algorithm": "SHA256",
      "digits": 8,
      "period": 60,
      "t0": 0
    },
    "started_at": 1700000100,
    "expires_at": 1700000700,
    "failed_attempts": 2,
    "account": null,
    "starts": [],
    "adding": "Desktop app"
  },
  "failures": {
    "consecutive": 3,
    "locked_until": null,
    "locked_at": null,
    "lockouts": 0,
    "disabled_at": null
  },
  "recovery": {
    "generated_at": 1700000090,
    "entries": [
      {
        "hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "used_at": null
      },
      {
        "hash": "BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "used_at": 1700000095
      }
    ]
  },
  "oob": {
    "destinations": [
      {
        "destination": {
          "kind": "sms",
          "address": "+61412345678"
        },
        "role": "backup",
        "added_at": 1700000100,
        "confirmed_at": 1700000160
      }
    ],
    "challenge": {
      "purpose": "sign_in",
      "role": "backup",
      "hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "expires_at": 1700000800,
      "attempts": 1,
      "issued_at": null
    },
    "sent_at": [
      1700000200
    ]
  },
  "devices": [
    {
      "id": "0123456789abcdef",
      "label": "Firefox on Windows",
      "hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "created_at": 1700000300,
      "expires_at": 1700043500
    }
  ],
  "proofs": {
    "totp": 1700000060,
    "recovery_code": 1700000095
  },
  "must_enroll": false,
  "generation": 4,
  "refusals": {
    "since": 1700000300,
    "logged": 10,
    "unlogged": 25
  }
}"#;

/// The same record as format 2 wrote it: no generation, no tally of refused attempts.
const PINNED_FORMAT_2: &str = r#"{
  "format": 2,
  "user": "sarah",
  "authenticators": [
    {
      "id": "000000006553f11e",
      "name": "Authenticator app",
      "secret": {
        "key_id": "plaintext-insecure",
        "ciphertext": "AAAAABLTMFZGC2BRGIZTINJWG44DSMBRGIZTINJWG44DSMA"
      },
      "params": {
        "algorithm": "SHA1",
        "digits": 6,
        "period": 30,
        "t0": 0
      },
      "created_at": 1700000030,
      "last_used_at": 1700000060,
      "last_accepted_step": 56666668,
      "drift": -1
    },
    {
      "id": "9f3c2a7be1d04c55",
      "name": "Backup phone",
      "secret": {
        "key_id": "plaintext-insecure",
        "ciphertext": "AAAAABLTMFZGC2BRGIZTINJWG44DSMBRGIZTINJWG44DSMA"
      },
      "params": {
        "algorithm": "SHA1",
        "digits": 6,
        "period": 30,
        "t0": 0
      },
      "created_at": 1700000120,
      "last_used_at": null,
      "last_accepted_step": 56666671,
      "drift": 0
    }
  ],
  "pending_enrollment": {
    "secret": {
      "key_id": "plaintext-insecure",
      "ciphertext": "AAAAABLTMFZGC2BRGIZTINJWG44DSMBRGIZTINJWG44DSMA"
    },
    "params": {
      "algorithm": "SHA256",
      "digits": 8,
      "period": 60,
      "t0": 0
    },
    "started_at": 1700000100,
    "expires_at": 1700000700,
    "failed_attempts": 2,
    "account": null,
    "starts": [],
    "adding": "Desktop app"
  },
  "failures": {
    "consecutive": 3,
    "locked_until": null,
    "locked_at": null,
    "lockouts": 0,
    "disabled_at": null
  },
  "recovery": {
    "generated_at": 1700000090,
    "entries": [
      {
        "hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "used_at": null
      },
      {
        "hash": "BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "used_at": 1700000095
      }
    ]
  },
  "oob": {
    "destinations": [
      {
        "destination": {
          "kind": "sms",
          "address": "+61412345678"
        },
        "role": "backup",
        "added_at": 1700000100,
        "confirmed_at": 1700000160
      }
    ],
    "challenge": {
      "purpose": "sign_in",
      "role": "backup",
      "hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "expires_at": 1700000800,
      "attempts": 1,
      "issued_at": null
    },
    "sent_at": [
      1700000200
    ]
  },
  "devices": [
    {
      "id": "0123456789abcdef",
      "label": "Firefox on Windows",
      "hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "created_at": 1700000300,
      "expires_at": 1700043500
    }
  ],
  "proofs": {
    "totp": 1700000060,
    "recovery_code": 1700000095
  },
  "must_enroll": false
}"#;

/// The same record as format 1 wrote it: one authenticator in `totp`, one `last_proof`.
const PINNED_FORMAT_1: &str = r#"{
  "format": 1,
  "user": "sarah",
  "totp": {
    "secret": {
      "key_id": "plaintext-insecure",
      "ciphertext": "AAAAABLTMFZGC2BRGIZTINJWG44DSMBRGIZTINJWG44DSMA"
    },
    "params": {
      "algorithm": "SHA1",
      "digits": 6,
      "period": 30,
      "t0": 0
    },
    "created_at": 1700000030,
    "last_used_at": 1700000060,
    "last_accepted_step": 56666668,
    "drift": -1
  },
  "pending_enrollment": {
    "secret": {
      "key_id": "plaintext-insecure",
      "ciphertext": "AAAAABLTMFZGC2BRGIZTINJWG44DSMBRGIZTINJWG44DSMA"
    },
    "params": {
      "algorithm": "SHA256",
      "digits": 8,
      "period": 60,
      "t0": 0
    },
    "started_at": 1700000100,
    "expires_at": 1700000700,
    "failed_attempts": 2,
    "account": null,
    "starts": []
  },
  "failures": {
    "consecutive": 3,
    "locked_until": null,
    "locked_at": null,
    "lockouts": 0,
    "disabled_at": null
  },
  "recovery": {
    "generated_at": 1700000090,
    "entries": [
      {
        "hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "used_at": null
      },
      {
        "hash": "BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "used_at": 1700000095
      }
    ]
  },
  "oob": {
    "destinations": [
      {
        "destination": {
          "kind": "sms",
          "address": "+61412345678"
        },
        "role": "backup",
        "added_at": 1700000100,
        "confirmed_at": 1700000160
      }
    ],
    "challenge": {
      "purpose": "sign_in",
      "role": "backup",
      "hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "expires_at": 1700000800,
      "attempts": 1,
      "issued_at": null
    },
    "sent_at": [
      1700000200
    ]
  },
  "devices": [
    {
      "id": "0123456789abcdef",
      "label": "Firefox on Windows",
      "hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "created_at": 1700000300,
      "expires_at": 1700043500
    }
  ],
  "last_proof": {
    "at": 1700000095,
    "method": "recovery_code"
  },
  "must_enroll": false
}"#;

/// The same record as written before lockouts kept their start, their count and the
/// hard limit, and before resets required a new enrollment.
const PINNED_BEFORE_LOCKOUT_HISTORY: &str = r#"{
  "format": 1,
  "user": "sarah",
  "totp": {
    "secret": {
      "key_id": "plaintext-insecure",
      "ciphertext": "AAAAABLTMFZGC2BRGIZTINJWG44DSMBRGIZTINJWG44DSMA"
    },
    "params": {
      "algorithm": "SHA1",
      "digits": 6,
      "period": 30,
      "t0": 0
    },
    "created_at": 1700000030,
    "last_used_at": 1700000060,
    "last_accepted_step": 56666668,
    "drift": -1
  },
  "pending_enrollment": {
    "secret": {
      "key_id": "plaintext-insecure",
      "ciphertext": "AAAAABLTMFZGC2BRGIZTINJWG44DSMBRGIZTINJWG44DSMA"
    },
    "params": {
      "algorithm": "SHA256",
      "digits": 8,
      "period": 60,
      "t0": 0
    },
    "started_at": 1700000100,
    "expires_at": 1700000700,
    "failed_attempts": 2
  },
  "failures": {
    "consecutive": 3,
    "locked_until": null
  },
  "recovery": {
    "generated_at": 1700000090,
    "entries": [
      {
        "hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "used_at": null
      },
      {
        "hash": "BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "used_at": 1700000095
      }
    ]
  },
  "oob": {
    "destinations": [
      {
        "destination": {
          "kind": "sms",
          "address": "+61412345678"
        },
        "role": "backup",
        "added_at": 1700000100,
        "confirmed_at": 1700000160
      }
    ],
    "challenge": {
      "purpose": "sign_in",
      "role": "backup",
      "hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "expires_at": 1700000800,
      "attempts": 1
    },
    "sent_at": [
      1700000200
    ]
  },
  "devices": [
    {
      "id": "0123456789abcdef",
      "label": "Firefox on Windows",
      "hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "created_at": 1700000300,
      "expires_at": 1700043500
    }
  ],
  "last_proof": {
    "at": 1700000095,
    "method": "recovery_code"
  }
}"#;

/// A record written before the backup methods existed (format 1 as first pinned).
const PINNED_WITHOUT_BACKUPS: &str = r#"{
  "format": 1,
  "user": "sarah",
  "totp": {
    "secret": {
      "key_id": "plaintext-insecure",
      "ciphertext": "AAAAABLTMFZGC2BRGIZTINJWG44DSMBRGIZTINJWG44DSMA"
    },
    "params": {
      "algorithm": "SHA1",
      "digits": 6,
      "period": 30,
      "t0": 0
    },
    "created_at": 1700000030,
    "last_used_at": 1700000060,
    "last_accepted_step": 56666668,
    "drift": -1
  },
  "pending_enrollment": {
    "secret": {
      "key_id": "plaintext-insecure",
      "ciphertext": "AAAAABLTMFZGC2BRGIZTINJWG44DSMBRGIZTINJWG44DSMA"
    },
    "params": {
      "algorithm": "SHA256",
      "digits": 8,
      "period": 60,
      "t0": 0
    },
    "started_at": 1700000100,
    "expires_at": 1700000700,
    "failed_attempts": 2
  },
  "failures": {
    "consecutive": 3,
    "locked_until": null
  }
}"#;

#[test]
fn a_record_written_before_the_lockout_history_reads_with_empty_history() {
    let older: UserRecord = serde_json::from_str(PINNED_BEFORE_LOCKOUT_HISTORY).unwrap();
    let current: UserRecord = serde_json::from_str(PINNED_FORMAT_1).unwrap();
    assert_eq!(older, current);
    assert!(!older.must_enroll() && older.failures().disabled_at().is_none());
}

#[test]
fn the_serialised_record_is_pinned() {
    let record: UserRecord = serde_json::from_str(PINNED).expect("the pinned form still reads");
    assert_eq!(serde_json::to_string_pretty(&record).unwrap(), PINNED, "the written form changed");

    assert_eq!(record.format(), UserRecord::FORMAT);
    assert_eq!(record.user(), &UserId::new("sarah"));
    let [phone, backup_phone] = record.authenticators() else { panic!("two authenticators") };
    assert_eq!((phone.id(), phone.name()), ("000000006553f11e", "Authenticator app"));
    assert_eq!(
        (phone.created_at(), phone.last_used_at(), phone.last_accepted_step(), phone.drift()),
        (1_700_000_030, Some(1_700_000_060), Some(56_666_668), -1)
    );
    assert_eq!((backup_phone.name(), backup_phone.last_accepted_step()), ("Backup phone", Some(56_666_671)));
    assert_eq!(record.totp(), Some(phone), "the first authenticator");
    let pending = record.pending_enrollment().unwrap();
    assert_eq!((pending.expires_at(), pending.adding()), (1_700_000_700, Some("Desktop app")));
    assert_eq!(record.failures().consecutive(), 3);
    let secret = PlaintextSealer.open(record.user(), phone.sealed_secret()).unwrap();
    assert_eq!(secret, Secret::from_bytes(b"12345678901234567890").unwrap());
    assert_eq!(record.recovery_codes().unwrap().remaining(), 1);
    let backup = &record.destination_state().destinations()[0];
    assert_eq!(
        (backup.destination().address(), backup.confirmed_at()),
        ("+61412345678", Some(1_700_000_160))
    );
    assert_eq!(record.devices().len(), 1);
    let last = record.last_proof().unwrap();
    assert_eq!((last.at, last.method), (1_700_000_260, Method::SecurityKey));
    assert_eq!(record.last_proved(Method::Totp), Some(1_700_000_060));
    assert_eq!(record.last_proved(Method::Sms), None);
    assert_eq!(record.methods(), vec![Method::SecurityKey, Method::Totp, Method::Sms, Method::RecoveryCode]);
    let [key] = record.security_keys() else { panic!("one security key") };
    assert_eq!(
        (key.id(), key.name(), key.counter(), key.discoverable()),
        ("5be0c3a1d2e4f607", "YubiKey", 17, true)
    );
    assert_eq!(key.credential_id().as_bytes(), (0u8..32).collect::<Vec<_>>().as_slice());
    assert_eq!(record.user_handle().unwrap().as_bytes(), &[0xAA; 16]);
    assert_eq!(record.ceremony().unwrap().expires_at(), 1_700_000_570);
    assert_eq!(record.authenticator_count(), 3);
    assert_eq!(record.frozen().map(|f| (f.since, f.event_id)), Some((1_700_000_900, 4711)));
    let listed: Vec<_> = record.authenticator_list().into_iter().map(|a| (a.id, a.method)).collect();
    assert_eq!(listed[0], ("5be0c3a1d2e4f607".to_string(), Method::SecurityKey));
}

#[test]
fn a_format_4_record_reads_with_no_organisation_and_is_written_back_as_the_current_format() {
    let record: UserRecord = serde_json::from_str(PINNED_FORMAT_4).expect("format 4 still reads");
    assert_eq!(record.format(), UserRecord::FORMAT);
    assert_eq!(record.org(), None);
    let current: UserRecord = serde_json::from_str(PINNED).unwrap();
    assert_eq!(current.org().map(|org| org.as_str()), Some("acme"));
    assert_eq!(record.authenticators(), current.authenticators());
    assert_eq!(record.security_keys(), current.security_keys());
    let written = serde_json::to_string(&record).unwrap();
    assert!(written.contains("\"format\":5") && !written.contains("\"org\""));
    assert_eq!(serde_json::from_str::<UserRecord>(&written).unwrap(), record);
}

#[test]
fn a_format_3_record_reads_with_no_security_keys_and_is_written_back_as_the_current_format() {
    let record: UserRecord = serde_json::from_str(PINNED_FORMAT_3).expect("format 3 still reads");
    assert_eq!(record.format(), UserRecord::FORMAT);
    assert!(
        record.security_keys().is_empty() && record.user_handle().is_none() && record.ceremony().is_none()
    );
    assert_eq!(record.authenticators().len(), 2);
    assert_eq!(record.generation(), 4);
    let written = serde_json::to_string(&record).unwrap();
    assert!(written.contains("\"format\":5") && !written.contains("security_keys"));
    let again: UserRecord = serde_json::from_str(&written).unwrap();
    assert_eq!(again, record);
}

#[test]
fn a_format_1_record_reads_as_the_current_format_with_its_one_authenticator_named_and_its_last_proof_kept() {
    let record: UserRecord = serde_json::from_str(PINNED_FORMAT_1).expect("format 1 still reads");
    assert_eq!(record.format(), UserRecord::FORMAT, "read into the current form");
    let [phone] = record.authenticators() else { panic!("one authenticator") };
    assert_eq!(
        (phone.name(), phone.drift(), phone.last_accepted_step()),
        ("Authenticator app", -1, Some(56_666_668))
    );
    // The id comes from the credential, so every read of the same record agrees on it.
    let again: UserRecord = serde_json::from_str(PINNED_FORMAT_1).unwrap();
    assert_eq!(again.authenticators()[0].id(), phone.id());
    assert_eq!(record.last_proved(Method::RecoveryCode), Some(1_700_000_095));
    assert_eq!(record.pending_enrollment().unwrap().adding(), None, "a format 1 enrollment replaces");
    // Written back, it is a current-format record that reads back the same.
    let written = serde_json::to_string(&record).unwrap();
    assert!(
        written.contains("\"format\":5")
            && written.contains("\"authenticators\"")
            && !written.contains("\"totp\":{")
    );
    assert_eq!(serde_json::from_str::<UserRecord>(&written).unwrap(), record);
}

#[test]
fn a_record_of_a_later_format_keeps_its_number_so_the_service_refuses_it() {
    let later = PINNED.replacen("\"format\": 5", "\"format\": 6", 1);
    let record: UserRecord = serde_json::from_str(&later).unwrap();
    assert_eq!(record.format(), 6);
}

#[test]
fn a_format_2_record_reads_as_generation_0_with_nothing_tallied_and_is_written_back_as_the_current_format() {
    let record: UserRecord = serde_json::from_str(PINNED_FORMAT_2).expect("format 2 still reads");
    assert_eq!(record.format(), UserRecord::FORMAT);
    assert_eq!(record.generation(), 0);
    assert_eq!(record.refusal_tally().unlogged(), 0);
    let current: UserRecord = serde_json::from_str(PINNED).unwrap();
    assert_eq!(record.authenticators(), current.authenticators());
    assert_eq!(current.generation(), 4);
    assert_eq!(current.refusal_tally().unlogged(), 25);
    let written = serde_json::to_string(&record).unwrap();
    assert!(written.contains("\"format\":5") && written.contains("\"generation\":0"));
}

#[test]
fn records_written_before_the_backup_methods_still_read() {
    let record: UserRecord = serde_json::from_str(PINNED_WITHOUT_BACKUPS).unwrap();
    assert!(record.recovery_codes().is_none() && record.devices().is_empty());
    assert!(record.destination_state().destinations().is_empty());
    assert_eq!(record.totp().unwrap().drift(), -1);
}

#[test]
fn records_the_service_writes_read_back_identically() {
    let firm = firm();
    let sarah = user("sarah");
    let phone = firm.enroll(&sarah);
    run(firm.mfa.verify_code(&sarah, &phone.code(), &office())).unwrap().unwrap();
    let record = run(firm.mfa.record(&sarah)).unwrap();
    let json = serde_json::to_string(&record).unwrap();
    assert_eq!(serde_json::from_str::<UserRecord>(&json).unwrap(), record);
    assert_eq!(record.totp().unwrap().params().algorithm(), Algorithm::Sha1);
}

#[test]
fn invalid_parameters_in_a_stored_record_are_refused_on_reading() {
    let broken = PINNED.replacen("\"digits\": 6", "\"digits\": 9", 1);
    assert!(serde_json::from_str::<UserRecord>(&broken).is_err());
}
