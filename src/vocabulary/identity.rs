//! Who a request is about and where it came from.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The host's identifier of a user (any string: a UUID, a database id, an e-mail).
///
/// A user id goes into every audit event and every copy of the record, so copying one
/// is cheap: an id of up to [`UserId::INLINE_LEN`] bytes (a UUID, a number, most e-mail
/// addresses) is held inline and copied as bytes, with no allocation and no reference
/// count for threads to share; a longer one shares its text. The id is hashed once, when
/// it is made (SipHash with a key drawn for the process, as `HashMap`'s own), so the
/// in-memory tables it keys look it up without hashing the text again. So `Hash` gives
/// the same value for equal ids within one process only: for a value that is the same
/// everywhere (to route users between servers), hash [`UserId::as_str`].
#[derive(Clone, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub struct UserId {
    /// The id's hash under the process's key: equal ids have equal hashes.
    hash: u64,
    /// The text of an id longer than [`UserId::INLINE_LEN`] bytes; `None` when it is
    /// held inline. (A plain struct rather than an enum of the two forms: it is copied
    /// as a few words, where an enum's tag and odd-sized payload were copied in pieces
    /// that the next read of the whole then waited on.)
    long: Option<Arc<String>>,
    /// The text of a short id, then zeros, then in the last byte the text's length (0
    /// for a long id): one array, copied whole.
    inline: [u8; UserId::INLINE_LEN + 1],
}

impl UserId {
    /// The longest id held inline, in bytes: 39, a UUID's 36 characters with room to
    /// spare.
    pub const INLINE_LEN: usize = 39;

    /// Wraps the host's identifier.
    pub fn new(id: impl AsRef<str>) -> UserId {
        let id = id.as_ref();
        let hash = id_hash(id);
        let mut inline = [0; UserId::INLINE_LEN + 1];
        match u8::try_from(id.len()) {
            Ok(len) if id.len() <= UserId::INLINE_LEN => {
                inline[..id.len()].copy_from_slice(id.as_bytes());
                inline[UserId::INLINE_LEN] = len;
                UserId { hash, long: None, inline }
            }
            _ => UserId { hash, long: Some(Arc::new(id.to_owned())), inline },
        }
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        match &self.long {
            Some(long) => long,
            // Copied from a `str` whole, so it is UTF-8: never the empty default.
            None => std::str::from_utf8(self.as_bytes()).unwrap_or_default(),
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match &self.long {
            Some(long) => long.as_bytes(),
            None => self.inline.get(..usize::from(self.inline[UserId::INLINE_LEN])).unwrap_or_default(),
        }
    }

    /// The id's hash under the process's key, as [`UserIdHash`] tables use it: equal
    /// ids have equal hashes, and different ids almost never do.
    pub(crate) fn carried_hash(&self) -> u64 {
        self.hash
    }

    /// Which of `shards` locked parts of an in-memory table this user's entries go to
    /// (FNV-1a of the id: cheap, the same in every process, and even enough to spread
    /// users over a few locks).
    pub(crate) fn shard(&self, shards: usize) -> usize {
        let hash = fnv1a(0xcbf2_9ce4_8422_2325, self.as_bytes());
        usize::try_from(hash % shards.max(1) as u64).unwrap_or(0)
    }
}

/// FNV-1a of `bytes`, continuing from `hash`: cheap, and the same in every process.
fn fnv1a(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |hash, &byte| (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// The key user ids are hashed with: drawn once a process, so which ids collide cannot
/// be known from outside (a host's user ids may be chosen by its users).
fn id_hash(id: &str) -> u64 {
    static KEY: std::sync::OnceLock<std::hash::RandomState> = std::sync::OnceLock::new();
    std::hash::BuildHasher::hash_one(KEY.get_or_init(std::hash::RandomState::new), id)
}

impl PartialEq for UserId {
    fn eq(&self, other: &UserId) -> bool {
        // One form for each text (inline by its length), so the parts compare alone.
        self.hash == other.hash && self.inline == other.inline && self.long == other.long
    }
}

impl Eq for UserId {}

impl PartialOrd for UserId {
    fn partial_cmp(&self, other: &UserId) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// In the order of the ids' text.
impl Ord for UserId {
    fn cmp(&self, other: &UserId) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl std::hash::Hash for UserId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// A [`std::hash::BuildHasher`] for tables keyed by [`UserId`], or by its carried hash,
/// that takes the hash the id already carries instead of hashing it again.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct UserIdHash;

impl std::hash::BuildHasher for UserIdHash {
    type Hasher = CarriedHash;

    fn build_hasher(&self) -> CarriedHash {
        CarriedHash(0)
    }
}

/// The hasher of [`UserIdHash`]: the hash of a key that writes one `u64` (a [`UserId`], or
/// its carried hash) is that `u64` itself. Anything further written is mixed in (a
/// multiply and rotate for words, FNV-1a for bytes), so a key of several parts still
/// hashes well, though no table here has one.
#[derive(Debug)]
pub(crate) struct CarriedHash(u64);

impl std::hash::Hasher for CarriedHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, hash: u64) {
        // From the starting 0 this is `hash` itself; later words depend on the order.
        self.0 = self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(26) ^ hash;
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0 = fnv1a(self.0, bytes);
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for UserId {
    fn from(id: &str) -> UserId {
        UserId::new(id)
    }
}

impl From<String> for UserId {
    fn from(id: String) -> UserId {
        if id.len() <= UserId::INLINE_LEN {
            return UserId::new(id);
        }
        // A long id keeps the `String` it came in.
        UserId { hash: id_hash(&id), long: Some(Arc::new(id)), inline: [0; UserId::INLINE_LEN + 1] }
    }
}

impl From<UserId> for String {
    fn from(id: UserId) -> String {
        id.as_str().to_owned()
    }
}

/// The host's identifier of an organisation (a tenant: a practice, a firm, a client
/// company), compared exactly. Cheap to copy: every audit event of the organisation
/// carries one.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub struct OrgId(Arc<str>);

impl OrgId {
    /// Wraps the host's identifier.
    pub fn new(id: impl AsRef<str>) -> OrgId {
        OrgId(Arc::from(id.as_ref()))
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for OrgId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for OrgId {
    fn from(id: &str) -> OrgId {
        OrgId::new(id)
    }
}

impl From<String> for OrgId {
    fn from(id: String) -> OrgId {
        OrgId(Arc::from(id))
    }
}

impl From<&OrgId> for OrgId {
    fn from(id: &OrgId) -> OrgId {
        id.clone()
    }
}

impl From<OrgId> for String {
    fn from(id: OrgId) -> String {
        id.as_str().to_owned()
    }
}

/// What the host knows of the request: where it came from, on what device, and in
/// which organisation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RequestContext {
    /// The client's address.
    pub address: Option<IpAddr>,
    /// A label for the device or user agent, as the host chooses to describe it.
    pub device: Option<String>,
    /// The organisation the request is made in (the tenant of the page or API call).
    /// Every audit event the request causes is filed under it, and a record changed by
    /// the request is listed under it ([`crate::record::UserRecord::org`]). `None`: the
    /// host has no organisations, or the request is not made in one (a background
    /// job); its events are then filed under the organisation of the user's record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<OrgId>,
}

impl RequestContext {
    /// A context with the client's address.
    pub fn from_address(address: IpAddr) -> RequestContext {
        RequestContext { address: Some(address), device: None, org: None }
    }

    /// The same context in organisation `org`.
    #[must_use]
    pub fn in_org(mut self, org: impl Into<OrgId>) -> RequestContext {
        self.org = Some(org.into());
        self
    }

    /// The same context with a device label.
    #[must_use]
    pub fn with_device(mut self, device: impl Into<String>) -> RequestContext {
        self.device = Some(device.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn ids_made_apart_from_the_same_text_are_equal_and_hash_alike() {
        let (a, b) = (UserId::new("sarah@smith.example"), UserId::from("sarah@smith.example"));
        assert_eq!(a, b);
        assert_eq!(UserIdHash.hash_one(&a), UserIdHash.hash_one(&b));
        let std = std::hash::RandomState::new();
        assert_eq!(std.hash_one(&a), std.hash_one(&b), "any hasher sees the same hash");
        assert_ne!(a, UserId::new("sarah@smith.example "));
        let copied: UserId =
            serde_json::from_str(&serde_json::to_string(&a).expect("serializes")).expect("reads");
        assert_eq!(copied, a);
        assert_eq!(serde_json::to_string(&a).expect("serializes"), "\"sarah@smith.example\"");
    }

    #[test]
    fn ids_short_and_long_keep_their_text_and_order_as_their_text_does() {
        let texts: Vec<String> = (0..=UserId::INLINE_LEN + 2)
            .flat_map(|len| ["a".repeat(len), "z".repeat(len), format!("{}ü", "b".repeat(len))])
            .chain(["550e8400-e29b-41d4-a716-446655440000".to_owned(), "ß".repeat(19), "ß".repeat(20)])
            .collect();
        let ids: Vec<UserId> = texts.iter().map(UserId::new).collect();
        for (text, id) in texts.iter().zip(&ids) {
            assert_eq!(id.as_str(), text, "{} bytes", text.len());
            assert_eq!(id.to_string(), *text);
            assert_eq!(String::from(id.clone()), *text);
            assert_eq!(*id, UserId::from(text.clone()));
            assert_eq!(id.clone(), *id);
        }
        for (a, x) in texts.iter().zip(&ids) {
            for (b, y) in texts.iter().zip(&ids) {
                assert_eq!(x.cmp(y), a.cmp(b), "{a:?} against {b:?}");
                assert_eq!(x == y, a == b, "{a:?} against {b:?}");
            }
        }
    }

    #[test]
    fn the_carried_hash_is_the_hash_of_one_id_and_mixes_further_parts_in_order() {
        use std::hash::{Hash, Hasher};
        let (a, b) = (UserId::new("alice"), UserId::new("bob"));
        assert_eq!(UserIdHash.hash_one(&a), a.carried_hash());
        assert_eq!(UserIdHash.hash_one(a.carried_hash()), a.carried_hash());
        let pair = |x: &UserId, y: &UserId| {
            let mut hasher = UserIdHash.build_hasher();
            x.hash(&mut hasher);
            y.hash(&mut hasher);
            hasher.finish()
        };
        assert_ne!(pair(&a, &b), pair(&b, &a), "order matters");
        assert_ne!(pair(&a, &a), 0, "a part twice does not cancel out");
    }

    #[test]
    fn a_long_id_read_from_a_string_is_the_same_as_one_made_from_its_text() {
        let text = "a-user-id-much-longer-than-what-is-held-inline@example.com".to_owned();
        assert!(text.len() > UserId::INLINE_LEN);
        assert_eq!(UserId::from(text.clone()), UserId::new(&text));
        assert_eq!(UserId::from(text.clone()).as_str(), text);
    }

    #[test]
    fn ids_order_by_their_text_and_key_a_table_by_their_carried_hash() {
        let mut ids: Vec<UserId> = ["carol", "alice", "bob"].into_iter().map(UserId::new).collect();
        ids.sort();
        assert_eq!(ids.iter().map(UserId::as_str).collect::<Vec<_>>(), ["alice", "bob", "carol"]);
        let mut table: HashMap<UserId, usize, UserIdHash> = HashMap::default();
        for i in 0..1000 {
            table.insert(UserId::new(format!("user-{i}")), i);
        }
        for i in 0..1000 {
            assert_eq!(table.get(&UserId::new(format!("user-{i}"))), Some(&i));
        }
        assert_eq!(table.get(&UserId::new("user-1000")), None);
    }
}
