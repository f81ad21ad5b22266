//! When did a partition's end offset pass a given offset? A bounded table of (time, end offset)
//! points per partition, as the poller saw them, answers it by interpolation. This is how lag in
//! time is read from offsets alone (the approach of Lightbend's kafka-lag-exporter): the oldest
//! message a group has not read was written when the end offset passed the group's commit.
//!
//! The table stays small without losing the shape that matters: a run of equal end offsets
//! keeps only its first and last point, and when the table is full the point whose removal
//! changes the interpolation least goes (a steady flow thins out; the corners of a pause stay).

/// At most this many points per partition: 16 bytes each.
pub const CAPACITY: usize = 256;

/// One partition's end offsets over time.
#[derive(Debug, Clone, Default)]
pub struct EndOffsetTable {
    /// (ms since the epoch, end offset), both non-decreasing.
    points: Vec<(i64, i64)>,
}

/// When the message at an offset was written, as far as the table knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrittenAt {
    /// Interpolated between two polls.
    At(i64),
    /// Before the table's first point, which is all that can be said.
    Before(i64),
    /// Not written yet (the offset is at or past the end).
    NotYet,
}

impl EndOffsetTable {
    /// Adds a poll's end offset. An end offset below the last one (a topic deleted and made
    /// again) starts the table afresh.
    pub fn record(&mut self, at: i64, end: i64) {
        if let Some(&(last_at, last_end)) = self.points.last() {
            if end < last_end || at < last_at {
                self.points.clear();
            } else if end == last_end {
                let n = self.points.len();
                if n >= 2 && self.points[n - 2].1 == end {
                    // Extends a flat run: its last point moves, its first stays.
                    self.points[n - 1].0 = at;
                    return;
                }
            }
        }
        self.points.push((at, end));
        if self.points.len() > CAPACITY {
            self.thin();
        }
    }

    /// Drops the interior point whose loss moves the interpolated time least.
    fn thin(&mut self) {
        let p = &self.points;
        let cost = |i: usize| -> i64 {
            let (t0, o0) = p[i - 1];
            let (t1, o1) = p[i];
            let (t2, o2) = p[i + 1];
            if o2 == o0 {
                return t2 - t0;
            }
            let guess = t0 as i128 + (t2 - t0) as i128 * (o1 - o0) as i128 / (o2 - o0) as i128;
            (t1 as i128 - guess).unsigned_abs() as i64
        };
        let victim = (1..p.len() - 1).min_by_key(|&i| cost(i)).unwrap_or(1);
        self.points.remove(victim);
    }

    /// When the message at `offset` was written: the end offset was at or below it at one poll
    /// and above it at the next; the time is interpolated between the two.
    pub fn written_at(&self, offset: i64) -> WrittenAt {
        let Some(&(_, last)) = self.points.last() else {
            return WrittenAt::NotYet;
        };
        if offset >= last {
            return WrittenAt::NotYet;
        }
        let j = self.points.partition_point(|&(_, end)| end <= offset);
        if j == 0 {
            return WrittenAt::Before(self.points[0].0);
        }
        let (t0, o0) = self.points[j - 1];
        let (t1, o1) = self.points[j];
        let fraction = (offset + 1 - o0) as f64 / (o1 - o0) as f64;
        WrittenAt::At(t0 + ((t1 - t0) as f64 * fraction.clamp(0.0, 1.0)) as i64)
    }

    /// When the latest point was recorded.
    pub fn last_at(&self) -> Option<i64> {
        self.points.last().map(|p| p.0)
    }

    /// The latest end offset.
    pub fn end(&self) -> Option<i64> {
        self.points.last().map(|p| p.1)
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_offset_is_dated_between_the_two_polls_around_it() {
        let mut t = EndOffsetTable::default();
        t.record(0, 0);
        t.record(10_000, 100);
        // Message 49 made the end offset 50, halfway through.
        assert_eq!(t.written_at(49), WrittenAt::At(5_000));
        assert_eq!(t.written_at(100), WrittenAt::NotYet);
    }

    #[test]
    fn a_pause_keeps_its_corners() {
        let mut t = EndOffsetTable::default();
        t.record(0, 0);
        t.record(1_000, 10);
        for s in 2..100 {
            t.record(s * 1_000, 10);
        }
        t.record(100_000, 20);
        assert_eq!(t.len(), 4, "a flat run is two points");
        // Message 10 was written after the pause, not halfway through it.
        match t.written_at(10) {
            WrittenAt::At(at) => assert!(at > 99_000, "{at}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_offset_older_than_the_table_is_a_lower_bound() {
        let mut t = EndOffsetTable::default();
        t.record(5_000, 500);
        t.record(6_000, 600);
        assert_eq!(t.written_at(10), WrittenAt::Before(5_000));
    }

    #[test]
    fn a_recreated_topic_starts_afresh() {
        let mut t = EndOffsetTable::default();
        t.record(0, 1_000);
        t.record(1_000, 5);
        assert_eq!(t.len(), 1);
        assert_eq!(t.end(), Some(5));
    }

    proptest! {
        /// However long it runs, the table stays within its capacity and its dates never go
        /// back as offsets grow; until it thins, every offset is dated between the two polls
        /// around its write.
        #[test]
        fn the_table_stays_bounded_and_its_dates_stay_in_order(
            steps in proptest::collection::vec((1i64..5_000, 0i64..50), 1..2_000)
        ) {
            let mut t = EndOffsetTable::default();
            let (mut at, mut end) = (0i64, 0i64);
            let mut truth = Vec::new();
            for (dt, n) in steps {
                at += dt;
                end += n;
                t.record(at, end);
                truth.push((at, end));
            }
            prop_assert!(t.len() <= CAPACITY);
            let mut previous = i64::MIN;
            for offset in (0..end).step_by(7) {
                let when = match t.written_at(offset) {
                    WrittenAt::At(w) | WrittenAt::Before(w) => w,
                    WrittenAt::NotYet => panic!("offset {offset} below the end {end}"),
                };
                prop_assert!(when >= previous, "dates go back at offset {offset}");
                previous = when;
                if truth.len() <= CAPACITY {
                    // Nothing thinned: dated between the poll before it was written and the
                    // first poll that saw it.
                    let seen = truth.iter().find(|p| p.1 > offset).unwrap().0;
                    let before = truth.iter().rev().find(|p| p.1 <= offset).map_or(0, |p| p.0);
                    prop_assert!(
                        when <= seen && when >= before,
                        "offset {offset} dated {when}, written between {before} and {seen}"
                    );
                }
            }
        }
    }
}
