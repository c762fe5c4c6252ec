//! [`LoginLimiter`]: failed sign-ins counted per client address and per user name, in
//! memory, with a lockout.
//!
//! Every attempt is counted when it starts ([`LoginLimiter::begin`]), so parallel attempts
//! cannot slip past the count; a successful one is taken back ([`LoginLimiter::succeeded`]),
//! so successful sign-ins are never slowed or locked out by themselves. When a key reaches
//! [`LoginPolicy::max_failures`] within [`LoginPolicy::window`], it is locked for
//! [`LoginPolicy::lockout`]: every attempt on it, right or wrong, is answered 429 with
//! `retry-after`, before any password is checked. Keys are the client's address (an IPv6
//! address by its /64, which one client usually holds whole) and the user name, so neither
//! many names from one address nor one name from many addresses gets more than the budget.
//! The table holds at most [`LoginPolicy::capacity`] keys; when full, stale keys are dropped
//! first, then the oldest. Each collector keeps its own table (several collectors behind one
//! database each allow the budget), and behind a reverse proxy every client shares the
//! proxy's address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The limits of [`LoginLimiter`].
#[derive(Clone, Debug)]
pub struct LoginPolicy {
    /// Failed attempts allowed per key within `window`; the last one locks the key.
    pub max_failures: u32,
    /// How long failures are remembered.
    pub window: Duration,
    /// How long a key stays locked.
    pub lockout: Duration,
    /// Most keys remembered.
    pub capacity: usize,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        LoginPolicy {
            max_failures: 5,
            window: Duration::from_secs(15 * 60),
            lockout: Duration::from_secs(15 * 60),
            capacity: 10_000,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Client(IpAddr),
    User(String),
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    since: Instant,
    locked_until: Option<Instant>,
}

/// Failed sign-ins per client and per user name (see the module documentation).
#[derive(Debug, Default)]
pub struct LoginLimiter {
    policy: LoginPolicy,
    entries: Mutex<HashMap<Key, Entry>>,
}

/// Longest user name kept as a key (longer names are cut, so a key costs bounded memory).
const MAX_NAME: usize = 256;

fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut seg = v6.segments();
                for s in seg.iter_mut().skip(4) {
                    *s = 0;
                }
                IpAddr::V6(seg.into())
            }
        },
    }
}

fn user_key(name: &str) -> Key {
    let mut end = name.len().min(MAX_NAME);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    Key::User(name.get(..end).unwrap_or_default().to_owned())
}

impl LoginLimiter {
    /// A limiter with `policy`.
    pub fn new(policy: LoginPolicy) -> LoginLimiter {
        LoginLimiter { policy, entries: Mutex::new(HashMap::new()) }
    }

    fn keys(client: Option<IpAddr>, user: &str) -> Vec<Key> {
        let mut keys = vec![user_key(user)];
        if let Some(ip) = client {
            keys.push(Key::Client(client_key(ip)));
        }
        keys
    }

    /// Starts an attempt by `client` for `user` at `now`: counts it as a failure until
    /// [`LoginLimiter::succeeded`] says otherwise. `Err(wait)` when a key is locked (nothing
    /// is counted then): answer 429 with `retry-after` of `wait`.
    pub fn begin(&self, client: Option<IpAddr>, user: &str, now: Instant) -> Result<(), Duration> {
        let keys = Self::keys(client, user);
        let mut map = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let wait = keys
            .iter()
            .filter_map(|k| map.get(k)?.locked_until)
            .filter(|until| *until > now)
            .map(|until| until - now)
            .max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        for key in keys {
            if !map.contains_key(&key) {
                self.make_room(&mut map, now);
            }
            let e = map.entry(key).or_insert(Entry { failures: 0, since: now, locked_until: None });
            if now.saturating_duration_since(e.since) > self.policy.window
                || e.locked_until.is_some()
            {
                *e = Entry { failures: 0, since: now, locked_until: None };
            }
            e.failures = e.failures.saturating_add(1);
            if e.failures >= self.policy.max_failures {
                e.locked_until = Some(now + self.policy.lockout);
            }
        }
        Ok(())
    }

    /// The attempt begun for `client` and `user` succeeded: it is taken back from the
    /// client's count, and the user's failures are forgotten.
    pub fn succeeded(&self, client: Option<IpAddr>, user: &str) {
        let mut map = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.remove(&user_key(user));
        if let Some(ip) = client {
            let key = Key::Client(client_key(ip));
            if let Some(e) = map.get_mut(&key) {
                e.failures = e.failures.saturating_sub(1);
                if e.failures < self.policy.max_failures {
                    e.locked_until = None;
                }
                if e.failures == 0 {
                    map.remove(&key);
                }
            }
        }
    }

    /// How many keys are remembered.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Below capacity again: drops stale keys, then the oldest one.
    fn make_room(&self, map: &mut HashMap<Key, Entry>, now: Instant) {
        if map.len() < self.policy.capacity.max(1) {
            return;
        }
        let policy = &self.policy;
        map.retain(|_, e| match e.locked_until {
            Some(until) => until > now,
            None => now.saturating_duration_since(e.since) <= policy.window,
        });
        if map.len() >= policy.capacity.max(1)
            && let Some(oldest) = map.iter().min_by_key(|(_, e)| e.since).map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[expect(clippy::unnecessary_wraps, reason = "the limiter takes an optional address")]
    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    fn policy() -> LoginPolicy {
        LoginPolicy {
            max_failures: 5,
            window: Duration::from_secs(900),
            lockout: Duration::from_secs(900),
            capacity: 100,
        }
    }

    #[test]
    fn five_failures_lock_the_client_for_the_lockout() {
        let l = LoginLimiter::new(policy());
        let t0 = Instant::now();
        for i in 0..5 {
            assert!(l.begin(ip("10.0.0.1"), &format!("user{i}"), t0).is_ok(), "attempt {i}");
        }
        let wait = l.begin(ip("10.0.0.1"), "someone-else", t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(900));
        // Another client is not affected.
        assert!(l.begin(ip("10.0.0.2"), "other", t0).is_ok());
        // Still locked later, with less to wait; free after the lockout.
        let later = t0 + Duration::from_secs(600);
        assert_eq!(l.begin(ip("10.0.0.1"), "x", later).unwrap_err(), Duration::from_secs(300));
        assert!(l.begin(ip("10.0.0.1"), "x", t0 + Duration::from_secs(901)).is_ok());
    }

    #[test]
    fn five_failures_lock_the_user_name_from_any_client() {
        let l = LoginLimiter::new(policy());
        let t0 = Instant::now();
        for i in 0..5 {
            assert!(l.begin(ip(&format!("10.0.1.{i}")), "alice", t0).is_ok());
        }
        assert!(l.begin(ip("10.0.2.1"), "alice", t0).is_err());
        assert!(l.begin(None, "alice", t0).is_err());
        assert!(l.begin(ip("10.0.2.1"), "bob", t0).is_ok());
    }

    #[test]
    fn successes_are_never_counted() {
        let l = LoginLimiter::new(policy());
        let t0 = Instant::now();
        for _ in 0..50 {
            assert!(l.begin(ip("10.0.0.1"), "alice", t0).is_ok());
            l.succeeded(ip("10.0.0.1"), "alice");
        }
        assert!(l.is_empty());
        // Four failures, then a success: the client keeps its four, the user none.
        for _ in 0..4 {
            l.begin(ip("10.0.0.1"), "mallory", t0).unwrap();
        }
        l.begin(ip("10.0.0.1"), "alice", t0).unwrap();
        l.succeeded(ip("10.0.0.1"), "alice");
        l.begin(ip("10.0.0.1"), "mallory", t0).unwrap();
        assert!(l.begin(ip("10.0.0.1"), "alice", t0).is_err());
    }

    #[test]
    fn failures_outside_the_window_are_forgotten() {
        let l = LoginLimiter::new(policy());
        let t0 = Instant::now();
        for _ in 0..4 {
            l.begin(ip("10.0.0.1"), "a", t0).unwrap();
        }
        let later = t0 + Duration::from_secs(901);
        for _ in 0..4 {
            assert!(l.begin(ip("10.0.0.1"), "a", later).is_ok());
        }
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        let l = LoginLimiter::new(policy());
        let t0 = Instant::now();
        for i in 0..5 {
            l.begin(ip(&format!("2001:db8:1:2::{i}")), &format!("u{i}"), t0).unwrap();
        }
        assert!(l.begin(ip("2001:db8:1:2:ffff::1"), "v", t0).is_err());
        assert!(l.begin(ip("2001:db8:1:3::1"), "v", t0).is_ok());
        // An IPv4-mapped address is its IPv4 address.
        for i in 0..5 {
            l.begin(ip("192.0.2.7"), &format!("w{i}"), t0).unwrap();
        }
        assert!(l.begin(ip("::ffff:192.0.2.7"), "z", t0).is_err());
    }

    #[test]
    fn the_table_stays_within_capacity() {
        let l = LoginLimiter::new(LoginPolicy { capacity: 10, ..policy() });
        let t0 = Instant::now();
        for i in 0..1000u32 {
            let _ = l.begin(ip(&format!("10.1.{}.{}", i / 256, i % 256)), &format!("u{i}"), t0);
            assert!(l.len() <= 10, "{} keys", l.len());
        }
        // A very long name costs a bounded key.
        let long = "é".repeat(10_000);
        l.begin(None, &long, t0 + Duration::from_secs(2000)).unwrap();
        assert!(l.len() <= 10);
    }
}
