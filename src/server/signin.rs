//! The sign-in guard: throttles password guesses without letting anyone lock a user out or
//! fill the server's memory, and keeps argon2's CPU work off the async threads.
//!
//! - Attempts are counted per (user name, client IP): by default a burst of 10, then one every
//!   6 s (`WATERSHED_SIGN_IN_PER_MINUTE`). A stranger guessing from elsewhere does not lock the
//!   real user out.
//! - Each client address (IPv6 by its /64, which one subscriber usually holds) has a budget
//!   of its own (six times the per-name one, at least 60 a minute) checked first, so one
//!   client cannot spend the global budget and lock everyone out, nor rotate addresses within
//!   its /64. Behind a proxy, set the trusted proxies, or every client shares the proxy's.
//! - A global budget (a burst of 200, then 30 a second) bounds the work all guesses together
//!   can cause, and so bounds the per-key table too: a key exists only after passing it, and
//!   keys that have fully recovered are dropped.
//! - Names longer than [`MAX_NAME_LEN`] are refused before anything else is done with them.
//! - Password hashing runs on the blocking pool, at most [`HASHING_SLOTS`] at a time, so a
//!   flood of sign-ins cannot stall health checks or page loads.

use governor::clock::DefaultClock;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// The longest user name a sign-in may carry.
pub const MAX_NAME_LEN: usize = 64;
/// Password hashes computed at once.
pub const HASHING_SLOTS: usize = 2;
/// Above this many tracked keys, recovered ones are dropped before a new one is added.
const PRUNE_ABOVE: usize = 10_000;

type Keyed = RateLimiter<(String, IpAddr), DefaultKeyedStateStore<(String, IpAddr)>, DefaultClock>;
type PerAddress = RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock>;
/// Above this many tracked addresses even after dropping recovered ones, new ones wait.
const MAX_ADDRESSES: usize = 100_000;

/// The address a client is counted as: IPv4 as is, IPv6 by its /64.
fn counted_as(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// Why a sign-in attempt was not even tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The name is longer than any user's can be.
    NameTooLong,
    /// Too many attempts for this name from this address, or from everyone at once.
    Throttled,
}

/// Shared by every sign-in of a process.
pub struct SignInGuard {
    per_address: PerAddress,
    per_key: Keyed,
    global: RateLimiter<NotKeyed, InMemoryState, DefaultClock>,
    hashing: Arc<Semaphore>,
}

/// Attempts all clients together may make at once (then 30 a second): well above one
/// address's budget, so no single client can spend it.
const GLOBAL_BURST: u32 = 200;

/// Sign-in attempts per (name, address) and minute when nothing else is configured.
pub const DEFAULT_PER_MINUTE: u32 = 10;

impl Default for SignInGuard {
    fn default() -> Self {
        Self::new(DEFAULT_PER_MINUTE)
    }
}

impl SignInGuard {
    /// A guard allowing `per_minute` attempts per (name, address): that many at once, then one
    /// every `60 / per_minute` seconds.
    pub fn new(per_minute: u32) -> Self {
        let n = |v: u32| NonZeroU32::new(v.max(1)).expect("non-zero");
        let per_address = per_minute.saturating_mul(6).max(60);
        Self {
            per_address: RateLimiter::keyed(Quota::per_minute(n(per_address))),
            per_key: RateLimiter::keyed(Quota::per_minute(n(per_minute))),
            global: RateLimiter::direct(Quota::per_second(n(30)).allow_burst(n(GLOBAL_BURST))),
            hashing: Arc::new(Semaphore::new(HASHING_SLOTS)),
        }
    }

    /// Admits one attempt for `name` from `ip`, or says why not.
    pub fn admit(&self, name: &str, ip: IpAddr) -> Result<(), Refusal> {
        if name.len() > MAX_NAME_LEN {
            return Err(Refusal::NameTooLong);
        }
        if self.per_address.len() > PRUNE_ABOVE {
            self.per_address.retain_recent();
        }
        let address = counted_as(ip);
        if self.per_address.len() > MAX_ADDRESSES {
            return Err(Refusal::Throttled);
        }
        self.per_address
            .check_key(&address)
            .map_err(|_| Refusal::Throttled)?;
        self.global.check().map_err(|_| Refusal::Throttled)?;
        if self.per_key.len() > PRUNE_ABOVE {
            self.per_key.retain_recent();
        }
        self.per_key
            .check_key(&(name.to_string(), ip))
            .map_err(|_| Refusal::Throttled)
    }

    /// How many (name, address) pairs are tracked now.
    pub fn tracked(&self) -> usize {
        self.per_key.len()
    }

    /// Runs `work` (a password hash or check) on the blocking pool, within the hashing slots.
    pub async fn hash<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self.hashing.clone().acquire_owned().await?;
        Ok(tokio::task::spawn_blocking(work).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn a_long_name_is_refused_before_it_is_counted() {
        let g = SignInGuard::default();
        assert_eq!(g.admit(&"x".repeat(65), ip(1)), Err(Refusal::NameTooLong));
        assert_eq!(g.tracked(), 0);
    }

    #[test]
    fn guesses_from_one_address_do_not_lock_the_user_out_elsewhere() {
        let g = SignInGuard::default();
        for _ in 0..10 {
            assert_eq!(g.admit("olga", ip(66)), Ok(()));
        }
        assert_eq!(g.admit("olga", ip(66)), Err(Refusal::Throttled));
        assert_eq!(g.admit("olga", ip(7)), Ok(()));
    }

    #[test]
    fn one_address_cannot_spend_everyones_budget() {
        let g = SignInGuard::default();
        let admitted = (0..1000u32)
            .filter(|i| g.admit(&format!("user{i}"), ip(1)).is_ok())
            .count();
        assert!((60..=65).contains(&admitted), "{admitted}");
        assert_eq!(
            g.admit("olga", ip(2)),
            Ok(()),
            "another client still signs in"
        );
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64() {
        let g = SignInGuard::default();
        let admitted = (0..200u16)
            .filter(|i| {
                let addr = IpAddr::from([0x2001, 0xdb8, 1, 2, 0, 0, 0, *i]);
                g.admit(&format!("user{i}"), addr).is_ok()
            })
            .count();
        assert!((60..=65).contains(&admitted), "{admitted}");
    }

    #[test]
    fn the_global_budget_bounds_how_many_keys_can_be_made() {
        let g = SignInGuard::default();
        let admitted = (0..1000u32)
            .filter(|i| {
                g.admit(
                    &format!("user{i}"),
                    IpAddr::from([10, 1, (i / 250) as u8, (i % 250) as u8]),
                )
                .is_ok()
            })
            .count();
        assert!((200..=215).contains(&admitted), "{admitted}");
        assert!(g.tracked() <= 215, "{}", g.tracked());
    }
}
