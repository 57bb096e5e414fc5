//! The full-tables scale bench of issue 26, on `PostgresStore`.
//!
//! Two databases of their own on the project's PostgreSQL, with the store's schema made
//! by `PostgresStore::migrate`:
//!
//! - `mfa_scale_full`: 10^6 users across 1,000 organisations (1,000 each; every tenth
//!   without MFA) and 10^7 audit events over the last 18 months (about 10 per user),
//!   bulk-loaded with server-side `INSERT … SELECT … FROM generate_series`. Every loaded
//!   row is a copy of a real one the service wrote for a template user (a record with
//!   MFA, one without, and the audit row of a sign-in), with the user id, the
//!   organisation and the time substituted with `replace()`, so the store reads every
//!   row. The secondary indexes are dropped for the load and made again by a second
//!   `migrate()`; then `VACUUM ANALYZE`. A marker table (`scale_bench_loaded`) records
//!   the load: a later run with the same sizes reuses it (`--reload` or
//!   `SCALE_BENCH_RELOAD=1` loads again).
//! - `mfa_scale_empty`: the same schema, made again on every run.
//!
//! In both, a few dozen "live" users are made through the service in organisation
//! `org-0007` (enrolled, whose secrets the bench knows, and some without MFA), and the
//! same operations are timed on both, interleaved (full, empty, full, empty …): a
//! sign-in (`verify_code` with the next code), the status-list pages, the trails, the
//! compliance report, and pruning a month of events (the oldest) in the full database,
//! organisation by organisation, while another task keeps signing users in. The month
//! pruned is put back afterwards (the same generated rows), so the next run prunes it
//! again.
//!
//! ```text
//! scripts/scale-bench.sh                  # or:
//! cargo bench -p mfa-kit-sqlx --features postgres --bench scale [-- --reload --users N --events N]
//! ```
//!
//! The server is `MFA_KIT_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`)
//! with its database name replaced: the tests' database is never used.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mfa_kit::UserId;
use mfa_kit::clock::ManualClock;
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::otp::Totp;
use mfa_kit::otp::uri::KeyUri;
use mfa_kit::policy::SignInContext;
use mfa_kit::service::MfaService;
use mfa_kit::store::{AuditQuery, RecordQuery};
use mfa_kit_sqlx::PostgresStore;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

const DAY: u64 = 86_400;
/// The loaded events span the 18 months before the load.
const SPAN: u64 = 548 * DAY;
/// The month pruned: the oldest 30 days.
const MONTH: u64 = 30 * DAY;
const ORGS: u64 = 1_000;
/// The organisation of the live users.
const LIVE_ORG: &str = "org-0007";
const LIVE: usize = 32;
const LIVE_WITHOUT_MFA: usize = 8;
const TEMPLATE_USER: &str = "scale-template-user";
const TEMPLATE_NOMFA: &str = "scale-template-nomfa";
const TEMPLATE_ORG: &str = "scale-template-org";
const POOL: u32 = 8;

type Service = MfaService<PostgresStore, PlaintextSealer>;

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn org_name(n: u64) -> String {
    format!("org-{n:04}")
}

fn user_name(n: u64) -> String {
    format!("user-{n:07}")
}

/// A live user: its service (on its own clock, a step later on every sign-in) and its
/// phone.
struct Signer {
    mfa: Service,
    clock: ManualClock,
    phone: Totp,
    user: UserId,
    now: u64,
    context: SignInContext,
}

impl Signer {
    async fn enrolled(store: PostgresStore, name: &str, org: &str, start: u64) -> Signer {
        let clock = ManualClock::new(start);
        let mfa = MfaService::builder("Scale", store, PlaintextSealer).clock(clock.clone()).build();
        let (user, context) = (UserId::new(name), SignInContext::default().in_org(org));
        let begun = mfa.start_enrollment(&user, name, &context).await.unwrap().unwrap();
        let key = KeyUri::parse(&begun.uri).unwrap();
        let phone = Totp::new(key.secret(), key.totp_params().unwrap());
        let codes =
            [phone.generate(start).unwrap().to_string(), phone.generate(start + 30).unwrap().to_string()];
        clock.set(start + 30);
        mfa.confirm_enrollment(&user, &[&codes[0], &codes[1]], &context).await.unwrap().unwrap();
        Signer { mfa, clock, phone, user, now: start + 30, context }
    }

    /// One accepted sign-in code, a step after the last.
    async fn verify(&mut self) {
        self.now += 30;
        self.clock.set(self.now);
        let code = self.phone.generate(self.now).unwrap().to_string();
        let outcome = self.mfa.verify_code(&self.user, &code, &self.context).await.unwrap();
        assert!(outcome.is_ok(), "{outcome:?}");
    }
}

/// A user who started enrolling and never confirmed: a record without MFA.
async fn without_mfa(store: PostgresStore, name: &str, org: &str, at: u64) {
    let mfa = MfaService::builder("Scale", store, PlaintextSealer).clock(ManualClock::new(at)).build();
    let context = SignInContext::default().in_org(org);
    mfa.start_enrollment(&UserId::new(name), name, &context).await.unwrap().unwrap();
}

struct Args {
    reload: bool,
    users: u64,
    events: u64,
    rounds: usize,
    reps: usize,
}

fn args() -> Args {
    let mut a = Args {
        reload: std::env::var("SCALE_BENCH_RELOAD").is_ok_and(|v| !v.is_empty() && v != "0"),
        users: 1_000_000,
        events: 10_000_000,
        rounds: 20,
        reps: 30,
    };
    let mut it = std::env::args().skip(1);
    let number = |v: Option<String>, what: &str| -> u64 {
        v.and_then(|n| n.replace('_', "").parse().ok()).unwrap_or_else(|| panic!("{what} N"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--reload" => a.reload = true,
            "--users" => a.users = number(it.next(), "--users"),
            "--events" => a.events = number(it.next(), "--events"),
            "--rounds" => a.rounds = number(it.next(), "--rounds") as usize,
            "--reps" => a.reps = number(it.next(), "--reps") as usize,
            _ => {} // `cargo bench` passes --bench, and filters.
        }
    }
    assert!(a.users >= ORGS && a.users.is_multiple_of(ORGS), "--users: a multiple of {ORGS}");
    a
}

/// The URL of the server's database `db`.
fn url_of(db: &str) -> PgConnectOptions {
    let url = std::env::var("MFA_KIT_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let options: PgConnectOptions = url.parse().unwrap_or_else(|e| panic!("MFA_KIT_POSTGRES_URL {url}: {e}"));
    options.database(db).disable_statement_logging()
}

async fn pool(db: &str, size: u32) -> PgPool {
    PgPoolOptions::new()
        .max_connections(size)
        .connect_with(url_of(db))
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL database {db}: {e}; start it with .ci/services"))
}

async fn recreate(db: &str) {
    let admin = pool("postgres", 1).await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).execute(&admin).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {db}")).execute(&admin).await.unwrap();
    admin.close().await;
}

async fn exists(db: &str) -> bool {
    let admin = pool("postgres", 1).await;
    let found: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(db)
        .fetch_one(&admin)
        .await
        .unwrap();
    admin.close().await;
    found
}

/// What the marker table says of a finished load.
struct Loaded {
    base: u64,
    seconds: f64,
}

async fn loaded(pool: &PgPool, a: &Args) -> Option<Loaded> {
    let row: Option<(i64, i64, i64, f64)> = sqlx::query_as(
        "SELECT users, events, base, load_seconds FROM scale_bench_loaded ORDER BY loaded_at DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await
    .ok()
    .flatten();
    let (users, events, base, seconds) = row?;
    (users as u64 == a.users && events as u64 == a.events).then_some(Loaded { base: base as u64, seconds })
}

/// The generated events `first..=last`: event `i` is user `i mod users`'s, at a time
/// growing with `i` across the span before `base`.
fn events_statement() -> &'static str {
    "INSERT INTO mfa_audit (user_id, actor, at, outcome, kind, address, device, event, org) \
     SELECT g.id, replace(t.actor, t.user_id, g.id), g.at, t.outcome, t.kind, t.address, t.device, \
            replace(replace(replace(t.event, t.user_id, g.id), t.org, g.org), t.at::text, g.at::text), g.org \
     FROM (SELECT i, 'user-' || lpad((i % $3)::text, 7, '0') AS id, \
                  'org-' || lpad((i % $3 % 1000)::text, 4, '0') AS org, \
                  $4::bigint - $5::bigint + (i * $5::bigint / $6::bigint) AS at \
           FROM generate_series($1::bigint, $2::bigint) AS i) AS g, \
          (SELECT * FROM mfa_audit WHERE id = $7) AS t \
     ORDER BY g.i"
}

/// Inserts the generated events `first..=last`.
async fn insert_events(pool: &PgPool, a: &Args, base: u64, template: i64, first: u64, last: u64) -> u64 {
    sqlx::query(events_statement())
        .bind(first as i64)
        .bind(last as i64)
        .bind(a.users as i64)
        .bind(base as i64)
        .bind(SPAN as i64)
        .bind(a.events as i64)
        .bind(template)
        .execute(pool)
        .await
        .unwrap()
        .rows_affected()
}

/// The template sign-in event's id.
async fn template_event(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT max(id) FROM mfa_audit WHERE user_id = $1 AND kind = 'code_accepted'")
        .bind(TEMPLATE_USER)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Loads the full database from scratch; returns the base time and the seconds taken.
async fn load(a: &Args) -> Loaded {
    let began = Instant::now();
    let db = "mfa_scale_full";
    recreate(db).await;
    let options = url_of(db).options([("maintenance_work_mem", "512MB"), ("synchronous_commit", "off")]);
    let pool = PgPoolOptions::new().max_connections(2).connect_with(options).await.unwrap();
    let store = PostgresStore::new(pool.clone());
    store.migrate().await.unwrap();
    let base = unix_now();
    // The templates, made through the service: a record with MFA and its sign-in's
    // audit row, and a record without MFA.
    let mut template = Signer::enrolled(store.clone(), TEMPLATE_USER, TEMPLATE_ORG, base - 600).await;
    template.verify().await;
    without_mfa(store.clone(), TEMPLATE_NOMFA, TEMPLATE_ORG, base - 600).await;
    let event_id = template_event(&pool).await;
    let (event, at): (String, i64) = sqlx::query_as("SELECT event, at FROM mfa_audit WHERE id = $1")
        .bind(event_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(event.matches(&at.to_string()).count(), 1, "the template event's time is ambiguous: {event}");
    let record: String = sqlx::query_scalar("SELECT record FROM mfa_records WHERE user_id = $1")
        .bind(TEMPLATE_USER)
        .fetch_one(&pool)
        .await
        .unwrap();
    println!("template record: {} bytes; template sign-in event: {} bytes", record.len(), event.len());
    // The secondary indexes are made after the load, by migrate() again.
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT indexname FROM pg_indexes WHERE tablename IN ('mfa_records', 'mfa_audit') \
         AND indexname NOT LIKE '%_pkey'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for index in &indexes {
        sqlx::query(&format!("DROP INDEX {index}")).execute(&pool).await.unwrap();
    }
    let t = Instant::now();
    let chunk = 100_000;
    for first in (0..a.users).step_by(chunk as usize) {
        let last = (first + chunk).min(a.users) - 1;
        sqlx::query(
            "INSERT INTO mfa_records (user_id, version, format, has_mfa, record, org) \
             SELECT g.id, t.version, t.format, t.has_mfa, \
                    replace(replace(t.record, t.user_id, g.id), t.org, g.org), g.org \
             FROM (SELECT u, 'user-' || lpad(u::text, 7, '0') AS id, 'org-' || lpad((u % 1000)::text, 4, '0') AS org \
                   FROM generate_series($1::bigint, $2::bigint) AS u) AS g \
             JOIN mfa_records AS t ON t.user_id = CASE WHEN g.u / 1000 % 10 = 9 THEN $3 ELSE $4 END \
             ORDER BY g.u",
        )
        .bind(first as i64)
        .bind(last as i64)
        .bind(TEMPLATE_NOMFA)
        .bind(TEMPLATE_USER)
        .execute(&pool)
        .await
        .unwrap();
    }
    println!("loaded {} users in {:.0} s", a.users, t.elapsed().as_secs_f64());
    let t = Instant::now();
    let chunk = 1_000_000;
    for first in (0..a.events).step_by(chunk as usize) {
        let last = (first + chunk).min(a.events) - 1;
        insert_events(&pool, a, base, event_id, first, last).await;
        println!("  events ..{} ({:.0} s)", last + 1, t.elapsed().as_secs_f64());
    }
    println!("loaded {} events in {:.0} s", a.events, t.elapsed().as_secs_f64());
    let t = Instant::now();
    store.migrate().await.unwrap();
    println!("made the indexes again (migrate) in {:.0} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    for table in ["mfa_records", "mfa_audit"] {
        sqlx::query(&format!("VACUUM ANALYZE {table}")).execute(&pool).await.unwrap();
    }
    println!("VACUUM ANALYZE in {:.0} s", t.elapsed().as_secs_f64());
    let seconds = began.elapsed().as_secs_f64();
    sqlx::query(
        "CREATE TABLE scale_bench_loaded (users BIGINT NOT NULL, events BIGINT NOT NULL, base BIGINT NOT NULL, \
         template_event BIGINT NOT NULL, load_seconds FLOAT8 NOT NULL, loaded_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO scale_bench_loaded (users, events, base, template_event, load_seconds) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(a.users as i64)
    .bind(a.events as i64)
    .bind(base as i64)
    .bind(event_id)
    .bind(seconds)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    println!("load finished in {seconds:.0} s");
    Loaded { base, seconds }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Times of one operation on one database.
#[derive(Default)]
struct Times(Vec<Duration>);

impl Times {
    fn p(&mut self, p: f64) -> Duration {
        self.0.sort();
        percentile(&self.0, p)
    }
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms >= 100.0 { format!("{ms:.0} ms") } else { format!("{ms:.2} ms") }
}

/// One database under test: its pool, a service on the system clock for the reads, and
/// its live signers.
struct Side {
    name: &'static str,
    pool: PgPool,
    mfa: Service,
    signers: Vec<Signer>,
    /// Organisations to list in turn (the full database: many; the empty one: the live
    /// users' only).
    orgs: Vec<String>,
    /// Users whose trails to read in turn.
    users: Vec<UserId>,
}

impl Side {
    async fn new(name: &'static str, a: &Args, full: bool) -> Side {
        let pool = pool(name, POOL).await;
        let store = PostgresStore::new(pool.clone());
        store.migrate().await.unwrap();
        let run = unix_now();
        let mut signers = Vec::new();
        for i in 0..LIVE {
            signers.push(Signer::enrolled(store.clone(), &format!("live-{run}-{i:02}"), LIVE_ORG, run).await);
        }
        for i in 0..LIVE_WITHOUT_MFA {
            without_mfa(store.clone(), &format!("live-{run}-nomfa-{i:02}"), LIVE_ORG, run).await;
        }
        let mfa = MfaService::builder("Scale", store, PlaintextSealer).build();
        let (orgs, users) = if full {
            (
                (0..50).map(|k| org_name(k * 37 % ORGS)).collect(),
                (0..50).map(|k| UserId::new(user_name(k * 19_997 % a.users))).collect(),
            )
        } else {
            (vec![LIVE_ORG.to_string()], signers.iter().map(|s| s.user.clone()).collect())
        };
        Side { name, pool, mfa, signers, orgs, users }
    }

    fn org(&self, rep: usize) -> &str {
        &self.orgs[rep % self.orgs.len()]
    }
}

/// One table row: the full and empty figures of one operation.
struct Row {
    what: String,
    target: String,
    full: (Duration, Duration),
    empty: (Duration, Duration),
    met: bool,
}

fn print_table(rows: &[Row]) {
    println!(
        "\n{:<62} {:<24} {:>11} {:>11} {:>11} {:>11} {:>7} {:>5}",
        "what", "target", "full p50", "full p99", "empty p50", "empty p99", "x p50", "met?"
    );
    for r in rows {
        println!(
            "{:<62} {:<24} {:>11} {:>11} {:>11} {:>11} {:>7.2} {:>5}",
            r.what,
            r.target,
            ms(r.full.0),
            ms(r.full.1),
            ms(r.empty.0),
            ms(r.empty.1),
            r.full.0.as_secs_f64() / r.empty.0.as_secs_f64(),
            if r.met { "yes" } else { "NO" }
        );
    }
}

/// Times `$body` (an async block, on `$side` for repetition `$rep`) `$reps` times on
/// each side, interleaved (full, empty, full, empty …), after a warm-up call on each
/// that must find something.
macro_rules! interleaved {
    ($sides:expr, $reps:expr, |$side:ident, $rep:ident| $body:expr) => {{
        let sides: &[Side; 2] = $sides;
        let mut times = [Times::default(), Times::default()];
        for $side in sides.iter() {
            let $rep = 0usize;
            let found: usize = $body.await;
            assert!(found > 0, "{}: the operation found nothing", $side.name);
        }
        for rep in 0..$reps {
            for ($side, t) in sides.iter().zip(&mut times) {
                let $rep = rep + 1;
                let began = Instant::now();
                let _: usize = $body.await;
                t.0.push(began.elapsed());
            }
        }
        times
    }};
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

async fn size(pool: &PgPool, table: &str) -> (i64, i64) {
    sqlx::query_as(&format!("SELECT pg_total_relation_size('{table}'), (SELECT count(*) FROM {table})"))
        .fetch_one(pool)
        .await
        .unwrap()
}

fn main() {
    let a = args();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(run(a));
}

async fn run(a: Args) {
    println!(
        "scale bench: {} users in {ORGS} organisations, {} audit events; load {}",
        a.users,
        a.events,
        load_average()
    );
    let existing = if !a.reload && exists("mfa_scale_full").await {
        loaded(&pool("mfa_scale_full", 1).await, &a).await
    } else {
        None
    };
    let loaded = match existing {
        Some(l) => {
            println!(
                "mfa_scale_full is loaded already (load took {:.0} s); --reload to load again",
                l.seconds
            );
            l
        }
        None => load(&a).await,
    };
    recreate("mfa_scale_empty").await;
    let mut sides =
        [Side::new("mfa_scale_full", &a, true).await, Side::new("mfa_scale_empty", &a, false).await];
    let now = unix_now();
    let year_ago = now - 365 * DAY;
    let mut rows = Vec::new();

    // Sign-ins: rounds of 50 on each side in turn.
    let mut signs = [Times::default(), Times::default()];
    for round in 0..=a.rounds {
        for (side, t) in sides.iter_mut().zip(&mut signs) {
            for call in 0..50 {
                let n = side.signers.len();
                let s = &mut side.signers[(round * 50 + call) % n];
                let began = Instant::now();
                s.verify().await;
                if round > 0 {
                    t.0.push(began.elapsed());
                }
            }
        }
    }
    let [mut f, mut e] = signs;
    let (full, empty) = ((f.p(0.5), f.p(0.99)), (e.p(0.5), e.p(0.99)));
    rows.push(Row {
        what: format!("sign-in: verify_code ({} calls each, A B rounds)", f.0.len()),
        target: "full p50 ≤ 1.10x empty".into(),
        met: full.0.as_secs_f64() <= 1.10 * empty.0.as_secs_f64(),
        full,
        empty,
    });
    let mut timed = |what: &str, target: &str, limit: Duration, [mut f, mut e]: [Times; 2]| {
        let (full, empty) = ((f.p(0.5), f.p(0.99)), (e.p(0.5), e.p(0.99)));
        rows.push(Row { what: what.into(), target: target.into(), met: full.0 <= limit, full, empty });
    };
    let ten_ms = Duration::from_millis(10);

    let t = interleaved!(&sides, a.reps, |side, rep| {
        let org = side.org(rep).to_string();
        async move {
            let context = SignInContext::default().in_org(org.as_str());
            side.mfa.status_page(&RecordQuery::org(org.as_str(), 100), &context).await.unwrap().rows.len()
        }
    });
    timed("status page: 100 users of one organisation", "≤ 10 ms", ten_ms, t);

    let t = interleaved!(&sides, a.reps, |side, rep| {
        let org = side.org(rep).to_string();
        async move {
            let context = SignInContext::default().in_org(org.as_str());
            let query = RecordQuery::org(org.as_str(), 100).without_mfa();
            side.mfa.status_page(&query, &context).await.unwrap().rows.len()
        }
    });
    timed("\"without MFA\" page of one organisation (100)", "≤ 10 ms", ten_ms, t);

    let t = interleaved!(&sides, a.reps, |side, _rep| async move {
        let query = RecordQuery::prefix("", 100).without_mfa();
        side.mfa.status_page(&query, &SignInContext::default()).await.unwrap().rows.len()
    });
    timed("\"without MFA\" page of every organisation (100)", "≤ 10 ms", ten_ms, t);

    let t = interleaved!(&sides, a.reps, |side, rep| {
        let user = side.users[rep % side.users.len()].clone();
        async move {
            let query = AuditQuery::user(user, year_ago, u64::MAX, 100);
            let read = mfa_kit::store::ReadAudit::read_audit(side.mfa.store(), &query).await.unwrap();
            read.events.len()
        }
    });
    timed("one user's 12-month trail (page of 100)", "≤ 10 ms", ten_ms, t);

    let t = interleaved!(&sides, a.reps, |side, rep| {
        let org = side.org(rep).to_string();
        async move {
            let query = AuditQuery::org(org.as_str(), year_ago, u64::MAX, 100);
            let read = mfa_kit::store::ReadAudit::read_audit(side.mfa.store(), &query).await.unwrap();
            read.events.len()
        }
    });
    timed("one organisation's trail page (12 months, 100)", "≤ 10 ms", ten_ms, t);

    let reports = a.reps.div_ceil(3);
    let t = interleaved!(&sides, reports, |side, rep| {
        let org = side.org(rep).to_string();
        async move {
            let context = SignInContext::default().in_org(org.as_str());
            let c = side.mfa.compliance_counts(org.as_str(), &context).await.unwrap();
            c.set_up + c.required + c.required_with_deadline + c.suggested + c.not_required + c.exempt
        }
    });
    timed("compliance_counts of one organisation", "≤ 1 s", Duration::from_secs(1), t);

    let t = interleaved!(&sides, reports, |side, rep| {
        let org = side.org(rep).to_string();
        async move {
            let context = SignInContext::default().in_org(org.as_str());
            let report = side.mfa.evidence_report(org.as_str(), &context).await.unwrap();
            usize::from(report.audit.oldest_event.is_some()) + 1
        }
    });
    timed("evidence_report of one organisation", "≤ 1 s", Duration::from_secs(1), t);

    let full = &sides[0];
    // Before pruning: the loaded tables, no dead rows.
    let (records_bytes, users) = size(&full.pool, "mfa_records").await;
    let (audit_bytes, events) = size(&full.pool, "mfa_audit").await;
    let heap: (i64, i64) = sqlx::query_as(
        "SELECT pg_relation_size('mfa_records') + pg_relation_size(reltoastrelid), pg_indexes_size('mfa_records') \
         FROM pg_class WHERE relname = 'mfa_records'",
    )
    .fetch_one(&full.pool)
    .await
    .unwrap();
    println!(
        "on disk: mfa_records {:.0} MB for {users} users = {:.0} bytes per user (table {:.0}, indexes {:.0}); \
         mfa_audit {:.0} MB for {events} events = {:.0} bytes per event",
        records_bytes as f64 / 1e6,
        records_bytes as f64 / users as f64,
        heap.0 as f64 / users as f64,
        heap.1 as f64 / users as f64,
        audit_bytes as f64 / 1e6,
        audit_bytes as f64 / events as f64,
    );
    let indexes: Vec<(String, i64)> = sqlx::query_as(
        "SELECT indexrelname::text, pg_relation_size(indexrelid) FROM pg_stat_user_indexes \
         WHERE relname IN ('mfa_records', 'mfa_audit') ORDER BY 1",
    )
    .fetch_all(&full.pool)
    .await
    .unwrap();
    for (name, bytes) in indexes {
        println!("  index {name}: {:.0} MB", bytes as f64 / 1e6);
    }

    // Pruning the oldest month of the full database, organisation by organisation,
    // while a task keeps signing the live users in.
    let cutoff = loaded.base - SPAN + MONTH;
    let [full, empty] = &mut sides;
    let prune = prune_while_signing(full, &a, cutoff).await;
    let (prune_signs, during_slow, deleted, took) = prune;
    // The same sign-ins without pruning, on the full database, for comparison.
    let stop = Arc::new(AtomicBool::new(false));
    let quiet = sign_in_loop(std::mem::take(&mut full.signers), stop.clone());
    tokio::time::sleep(took.min(Duration::from_secs(20))).await;
    stop.store(true, Ordering::Relaxed);
    let (signers, mut quiet, quiet_slow) = quiet.await.unwrap();
    full.signers = signers;
    let mut during = prune_signs;
    let worst = *during.0.iter().max().unwrap();
    let quiet_worst = *quiet.0.iter().max().unwrap();
    let over = |t: &Times, ms: u64| t.0.iter().filter(|d| **d > Duration::from_millis(ms)).count();
    let (during_over, quiet_over) = (over(&during, 100), over(&quiet, 100));
    rows.push(Row {
        what: format!("sign-in while pruning a month ({} calls; empty: no pruning)", during.0.len()),
        target: "none blocked > 100 ms".into(),
        met: worst <= Duration::from_millis(100),
        full: (during.p(0.5), during.p(0.99)),
        empty: (quiet.p(0.5), quiet.p(0.99)),
    });
    let _ = empty;
    print_table(&rows);
    println!(
        "(x p50: full over empty; the empty database's pages hold only its {} live users; \
         sign-in while pruning: the \"empty\" columns are the same sign-ins on the full database without pruning)",
        LIVE + LIVE_WITHOUT_MFA
    );
    println!(
        "pruning a month: {deleted} events deleted in {:.1} s ({:.0} events/s), \
         prune_audit for each of the {ORGS} organisations in batches of {}; sign-ins meanwhile: worst {}, \
         {during_over} over 100 ms; without pruning: worst {}, {quiet_over} over 100 ms",
        took.as_secs_f64(),
        deleted as f64 / took.as_secs_f64(),
        mfa_kit::service::PRUNE_BATCH,
        ms(worst),
        ms(quiet_worst),
    );
    for (what, slow) in [("while pruning", &during_slow), ("without pruning", &quiet_slow)] {
        let list: Vec<String> = slow.iter().map(|(at, d)| format!("{} at {at:.2} s", ms(*d))).collect();
        println!(
            "  sign-ins over 50 ms {what}: {}",
            if list.is_empty() { "none".into() } else { list.join(", ") }
        );
    }

    // Put the pruned month back, so the next run prunes it again.
    let full = &sides[0];
    let restore = Instant::now();
    let template: i64 = sqlx::query_scalar("SELECT template_event FROM scale_bench_loaded LIMIT 1")
        .fetch_one(&full.pool)
        .await
        .unwrap();
    let last = (MONTH as u128 * a.events as u128).div_ceil(SPAN as u128) as u64;
    let mut back = 0;
    for first in (0..last).step_by(1_000_000) {
        back += insert_events(&full.pool, &a, loaded.base, template, first, (first + 999_999).min(last - 1))
            .await;
    }
    // The server may run without autovacuum: the pruned rows' space, for the next run.
    sqlx::query("VACUUM ANALYZE mfa_audit").execute(&full.pool).await.unwrap();
    println!(
        "put the pruned month back ({back} events) and vacuumed in {:.0} s; load of the full database: {:.0} s; load average {}",
        restore.elapsed().as_secs_f64(),
        loaded.seconds,
        load_average()
    );
    for side in &sides {
        side.pool.close().await;
    }
}

/// The sign-ins over 50 ms: when each began (seconds after the loop's start), and its
/// time.
type Slow = Vec<(f64, Duration)>;

/// Signs the signers in, one after another, until `stop`; gives them back with each
/// sign-in's time, and the slow ones.
fn sign_in_loop(
    mut signers: Vec<Signer>,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<(Vec<Signer>, Times, Slow)> {
    tokio::spawn(async move {
        let (mut times, mut slow) = (Times::default(), Vec::new());
        let start = Instant::now();
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            let len = signers.len();
            let began = Instant::now();
            signers[n % len].verify().await;
            let took = began.elapsed();
            times.0.push(took);
            if took > Duration::from_millis(50) {
                slow.push(((began - start).as_secs_f64(), took));
            }
            n += 1;
        }
        (signers, times, slow)
    })
}

/// `prune_audit` of every organisation's events before `cutoff`, while a task signs the
/// side's live users in: that task's times, the events deleted, the pruning's time.
async fn prune_while_signing(side: &mut Side, a: &Args, cutoff: u64) -> (Times, Slow, u64, Duration) {
    let stop = Arc::new(AtomicBool::new(false));
    let signing_began = Instant::now();
    let signing = sign_in_loop(std::mem::take(&mut side.signers), stop.clone());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let began = Instant::now();
    let mut deleted = 0;
    let job = UserId::new("retention-job");
    for org in 0..ORGS.min(a.users) {
        let context = SignInContext::default().in_org(org_name(org));
        deleted += side.mfa.prune_audit(cutoff, &job, &context).await.unwrap();
    }
    let took = began.elapsed();
    stop.store(true, Ordering::Relaxed);
    let (signers, times, slow) = signing.await.unwrap();
    side.signers = signers;
    println!("pruning began {:.2} s after the sign-ins", (began - signing_began).as_secs_f64());
    (times, slow, deleted, took)
}
