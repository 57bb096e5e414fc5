#!/usr/bin/env bash
# Runs the full-tables scale bench of issue 26 end to end on the project's PostgreSQL
# and prints its table: crates/mfa-kit-sqlx/benches/scale.rs.
#
#   scripts/scale-bench.sh             # loads mfa_scale_full once (10^6 users, 10^7
#                                      # events: tens of minutes), then reuses it
#   scripts/scale-bench.sh --reload    # loads it again (or SCALE_BENCH_RELOAD=1)
#   scripts/scale-bench.sh --users 10000 --events 100000   # a small run, to try it
#
# Other arguments go to the bench (--rounds N sign-in rounds, --reps N repetitions of
# each read). The server is MFA_KIT_POSTGRES_URL (default
# postgres://postgres@127.0.0.1:5432/test) with the database name replaced by
# mfa_scale_full and mfa_scale_empty; the tests' database is not touched. Leaves
# mfa_scale_full loaded for the next run (6 to 7 GB at full size; drop it with
# `dropdb -h 127.0.0.1 -U postgres mfa_scale_full`). Set CARGO_BUILD_JOBS (e.g. 1) on a
# shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."

# PostgreSQL only: .ci/services also starts the mail server the mail tests use, which
# this bench does not need.
if ! .ci/services; then
  if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "(a service other than PostgreSQL is down; the scale bench needs only PostgreSQL)"
  elif [ -z "${MFA_KIT_POSTGRES_URL:-}" ]; then
    echo "PostgreSQL is not reachable on 127.0.0.1:5432; set MFA_KIT_POSTGRES_URL" >&2
    exit 1
  fi
fi

exec cargo bench -p mfa-kit-sqlx --features postgres --bench scale -- "$@"
