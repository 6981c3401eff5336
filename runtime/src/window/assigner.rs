//! Which windows a record belongs to: the time windows ([`Window`], [`Assigner`] for
//! tumbling and sliding windows), and what a window aggregation emits
//! ([`WindowResult`]).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::time::Timed;

/// The window a result belongs to: `[start, end)` in milliseconds of event time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Window {
    /// First millisecond of the window (negative for windows that begin before the epoch).
    pub start: i64,
    /// First millisecond after the window.
    pub end: i64,
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {})", self.start, self.end)
    }
}

/// What a window aggregation emits: the key, the window, and the aggregate.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WindowResult<K, V> {
    /// The key (`()` for `window_all`).
    pub key: K,
    /// First millisecond of the window.
    pub start: i64,
    /// First millisecond after the window.
    pub end: i64,
    /// The aggregate.
    pub value: V,
}

impl<K, V> WindowResult<K, V> {
    /// The window as a value.
    pub fn window(&self) -> Window {
        Window {
            start: self.start,
            end: self.end,
        }
    }
}

/// The result of `window`, stamped with the window's last millisecond.
pub(super) fn window_result<K, V>(window: Window, key: K, value: V) -> Timed<WindowResult<K, V>> {
    Timed {
        ts: window.end as u64 - 1,
        value: WindowResult {
            key,
            start: window.start,
            end: window.end,
            value,
        },
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Display for WindowResult<K, V> {
    /// `[start, end) key: value`, with `Debug` forms for key and value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}, {}) {:?}: {:?}",
            self.start, self.end, self.key, self.value
        )
    }
}

/// Which windows a record belongs to: tumbling (`slide == size`), sliding, or
/// cumulating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Assigner {
    /// The size of a window (of the largest, cumulating).
    pub(super) size: u64,
    /// How far apart window ends are.
    pub(super) slide: u64,
    pub(super) pane: u64,
    /// Cumulating windows (Flink SQL's `CUMULATE`): windows start at multiples of
    /// `size` and end at every `slide` after, up to `size`.
    pub(super) cumulate: bool,
    /// How far window starts are from the multiples of their period (the slide, or a
    /// cumulating window's size), as what is added to a time before rounding: `period
    /// - offset` (Flink's window offset), `0` without one.
    pub(super) shift: u64,
}

pub(super) fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl Assigner {
    /// `tumbling(size)`: windows `[k·size, (k+1)·size)`.
    pub fn tumbling(size: u64) -> Self {
        Self::sliding(size, size)
    }

    /// `sliding(size, slide)`: windows of `size` starting at every multiple of `slide`.
    /// The macro checks `0 < slide <= size` at compile time.
    pub fn sliding(size: u64, slide: u64) -> Self {
        assert!(
            slide > 0 && slide <= size,
            "a window needs 0 < slide <= size"
        );
        Assigner {
            size,
            slide,
            pane: gcd(size, slide),
            cumulate: false,
            shift: 0,
        }
    }

    /// These windows moved by `offset` (Flink's window offset, which may be negative):
    /// starts at `offset` plus the multiples of the slide (of the size, cumulating),
    /// as `tumbling(1d, offset = -8h)` for days in UTC-8.
    pub fn offset(mut self, offset: i64) -> Self {
        let period = self.period();
        let offset = offset.rem_euclid(period as i64) as u64;
        self.shift = (period - offset) % period;
        self
    }

    /// The period window starts repeat with.
    fn period(&self) -> u64 {
        if self.cumulate {
            self.size
        } else {
            self.slide
        }
    }

    /// `cumulate(step, max)`: windows `[k·max, k·max + step)`, `[k·max, k·max + 2·step)`,
    /// ... up to `[k·max, (k+1)·max)`, as Flink SQL's `CUMULATE` (a day's running total,
    /// every hour). The macro checks that `max` is a positive multiple of `step`.
    pub fn cumulate(step: u64, max: u64) -> Self {
        assert!(
            step > 0 && max >= step && max.is_multiple_of(step),
            "cumulating windows need a max size that is a multiple of the step"
        );
        Assigner {
            size: max,
            slide: step,
            pane: step,
            cumulate: true,
            shift: 0,
        }
    }

    /// The start of the window ending at `end`.
    fn start(&self, end: u64) -> i64 {
        if self.cumulate {
            let u = end - 1 + self.shift;
            (u - u % self.size) as i64 - self.shift as i64
        } else {
            end as i64 - self.size as i64
        }
    }

    /// The end of the last window that contains `ts`.
    pub(super) fn last_end(&self, ts: u64) -> u64 {
        let u = ts + self.shift;
        u - u % self.period() + self.size - self.shift
    }

    /// The end of the first window that contains `ts`.
    pub(super) fn first_end(&self, ts: u64) -> u64 {
        let last = self.last_end(ts);
        last - (last - ts - 1) / self.slide * self.slide
    }

    /// The ends of the windows that contain `ts`, latest first.
    pub(super) fn ends(&self, ts: u64) -> impl Iterator<Item = u64> {
        let slide = self.slide;
        std::iter::successors(Some(self.last_end(ts)), move |e| e.checked_sub(slide))
            .take_while(move |&e| e > ts)
    }

    /// The end of the pane that holds `ts`.
    pub(super) fn pane_end(&self, ts: u64) -> u64 {
        let u = ts + self.shift;
        u - u % self.pane + self.pane - self.shift
    }

    /// The end of the last window that contains the pane ending at `pane_end`.
    pub(super) fn pane_last_window_end(&self, pane_end: u64) -> u64 {
        self.last_end(pane_end.saturating_sub(self.pane))
    }

    /// The pane ends of the window ending at `end`.
    pub(super) fn panes_of(&self, end: u64) -> std::ops::RangeInclusive<u64> {
        let start = self.start(end);
        (start + self.pane as i64).max(0) as u64..=end
    }

    pub(super) fn window(&self, end: u64) -> Window {
        Window {
            start: self.start(end),
            end: end as i64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tumbling_and_sliding_assignment_follow_flink() {
        let t = Assigner::tumbling(10);
        assert_eq!(t.ends(0).collect::<Vec<_>>(), [10]);
        assert_eq!(t.ends(9).collect::<Vec<_>>(), [10]);
        assert_eq!(t.ends(10).collect::<Vec<_>>(), [20]);
        let s = Assigner::sliding(10, 4);
        // Windows start at multiples of 4: 12 is in [4, 14), [8, 18), [12, 22).
        assert_eq!(s.ends(12).collect::<Vec<_>>(), [22, 18, 14]);
        // 3 is in [-4, 6) and [0, 10): windows may begin before the epoch.
        assert_eq!(s.ends(3).collect::<Vec<_>>(), [10, 6]);
        for ts in 0..50 {
            assert_eq!(Some(s.first_end(ts)), s.ends(ts).last());
            assert_eq!(Some(t.first_end(ts)), t.ends(ts).last());
        }
        assert_eq!(s.window(6), Window { start: -4, end: 6 });
        assert_eq!(s.pane, 2);
        assert_eq!(s.pane_end(13), 14);
        // Pane [12, 14) lies in windows up to [12, 22).
        assert_eq!(s.pane_last_window_end(14), 22);
        assert_eq!(s.panes_of(22), 14..=22);
        // Cumulating by 2 up to 6: 3 is in [0, 4) and [0, 6); 6 starts the next.
        let c = Assigner::cumulate(2, 6);
        assert_eq!(c.ends(3).collect::<Vec<_>>(), [6, 4]);
        assert_eq!(c.ends(0).collect::<Vec<_>>(), [6, 4, 2]);
        assert_eq!(c.ends(6).collect::<Vec<_>>(), [12, 10, 8]);
        assert_eq!(c.window(4), Window { start: 0, end: 4 });
        assert_eq!(c.window(12), Window { start: 6, end: 12 });
        assert_eq!(c.panes_of(10), 8..=10);
        assert_eq!(c.pane_last_window_end(8), 12);
        // With offsets (Flink's): tumbling 10 from 3 (and from -7, the same), sliding
        // 10 by 4 from 1, cumulating by 2 up to 6 from 5.
        let t3 = Assigner::tumbling(10).offset(3);
        assert_eq!(t3, Assigner::tumbling(10).offset(-7));
        assert_eq!(t3.ends(2).collect::<Vec<_>>(), [3]);
        assert_eq!(t3.ends(3).collect::<Vec<_>>(), [13]);
        assert_eq!(t3.window(13), Window { start: 3, end: 13 });
        assert_eq!(t3.window(3), Window { start: -7, end: 3 });
        let s1 = Assigner::sliding(10, 4).offset(1);
        assert_eq!(s1.ends(12).collect::<Vec<_>>(), [19, 15]);
        let c5 = Assigner::cumulate(2, 6).offset(5);
        assert_eq!(c5.ends(5).collect::<Vec<_>>(), [11, 9, 7]);
        assert_eq!(c5.ends(4).collect::<Vec<_>>(), [5]);
        assert_eq!(c5.window(9), Window { start: 5, end: 9 });
        for a in [c, t3, s1, c5] {
            for ts in 0..50 {
                assert_eq!(Some(a.first_end(ts)), a.ends(ts).last());
                for end in a.ends(ts) {
                    let w = a.window(end);
                    assert!(
                        w.start <= ts as i64 && (ts as i64) < w.end,
                        "{a:?} {ts} {w}"
                    );
                    assert!(a.panes_of(end).contains(&a.pane_end(ts)), "{a:?} {ts}");
                }
            }
        }
    }
}
