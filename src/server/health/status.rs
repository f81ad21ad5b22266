//! A consumer group's status from the polls of the evaluation window, after Burrow's rules
//! (github.com/linkedin/Burrow, "Consumer Lag Evaluation Rules"), with its reason in words:
//!
//! 1. Lag was zero at some poll of the window → OK: the group caught up.
//! 2. The committed offset did not move over a whole window while lag was above zero →
//!    STOPPED when nobody is left in the group (no members on the broker, no SDK client heard
//!    from), STALLED otherwise.
//! 3. The offset moved but lag grew at every poll of a whole window → WARNING.
//! 4. Anything else → OK.
//!
//! Until the polls cover a whole window, only rule 1 and "OK, still watching" apply.

use crate::domain::GroupStatus;

/// One poll of one group on one queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub at: i64,
    /// Committed offsets summed over partitions.
    pub committed: i64,
    pub lag: i64,
}

/// The status and why, from the window's polls (oldest first), the window's length and how
/// many clients the group has now.
pub fn judge(samples: &[Sample], window_ms: i64, clients: i64) -> (GroupStatus, String) {
    let Some(last) = samples.last() else {
        return (GroupStatus::Ok, "no polls yet".into());
    };
    if samples.iter().any(|s| s.lag == 0) {
        let why = if last.lag == 0 {
            "caught up".to_string()
        } else {
            format!("caught up within the window; {} behind now", last.lag)
        };
        return (GroupStatus::Ok, why);
    }
    let first = samples[0];
    let covered = last.at - first.at >= window_ms;
    if !covered {
        return (
            GroupStatus::Ok,
            format!("{} behind; watching for a full window", last.lag),
        );
    }
    let seconds = (last.at - first.at) / 1000;
    if samples.iter().all(|s| s.committed == first.committed) {
        if clients == 0 {
            return (
                GroupStatus::Stopped,
                format!(
                    "no commits for {seconds} s with {} messages waiting, and no members or SDK clients",
                    last.lag
                ),
            );
        }
        return (
            GroupStatus::Stalled,
            format!(
                "the committed offset has not moved for {seconds} s while {} messages wait ({clients} clients connected)",
                last.lag
            ),
        );
    }
    let growing = samples.windows(2).all(|w| w[1].lag >= w[0].lag) && last.lag > first.lag;
    if growing {
        return (
            GroupStatus::Warning,
            format!(
                "lag grew from {} to {} over {seconds} s while the group commits",
                first.lag, last.lag
            ),
        );
    }
    (GroupStatus::Ok, format!("consuming; {} behind", last.lag))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn polls(points: &[(i64, i64)]) -> Vec<Sample> {
        points
            .iter()
            .enumerate()
            .map(|(i, &(committed, lag))| Sample {
                at: i as i64 * 1_000,
                committed,
                lag,
            })
            .collect()
    }

    #[test]
    fn a_group_that_caught_up_once_in_the_window_is_ok() {
        let (s, why) = judge(&polls(&[(0, 5), (5, 0), (5, 3)]), 2_000, 1);
        assert_eq!(s, GroupStatus::Ok);
        assert!(why.contains("caught up"), "{why}");
    }

    #[test]
    fn a_group_not_moving_with_lag_is_stalled_with_members_and_stopped_without() {
        let p = polls(&[(10, 5), (10, 8), (10, 12)]);
        assert_eq!(judge(&p, 2_000, 2).0, GroupStatus::Stalled);
        let (s, why) = judge(&p, 2_000, 0);
        assert_eq!(s, GroupStatus::Stopped);
        assert!(why.contains("no members"), "{why}");
    }

    #[test]
    fn lag_growing_at_every_poll_while_committing_is_a_warning() {
        let p = polls(&[(10, 5), (12, 8), (14, 12)]);
        assert_eq!(judge(&p, 2_000, 1).0, GroupStatus::Warning);
        let p = polls(&[(10, 5), (12, 8), (20, 6)]);
        assert_eq!(judge(&p, 2_000, 1).0, GroupStatus::Ok);
    }

    #[test]
    fn nothing_is_judged_stalled_before_a_full_window() {
        let p = polls(&[(10, 5), (10, 8)]);
        assert_eq!(judge(&p, 10_000, 0).0, GroupStatus::Ok);
    }
}
