//! How many cases each target runs, and running them in batches so a time budget can stop a
//! long run between batches while proptest still shrinks any failure it finds.
//!
//! `FUZZ_CASES` (default 300, so `just test` stays fast) is the number of cases per target;
//! `FUZZ_SECONDS` (default none) caps the time each target may take. `just fuzz` sets both.

use std::cell::Cell;
use std::time::{Duration, Instant};

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Cases per target when `FUZZ_CASES` is not set.
const DEFAULT_CASES: u64 = 300;
/// Cases per proptest run; the deadline is checked between runs.
const BATCH: u64 = 5_000;

/// What one case did with its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The parser accepted it (and the invariants held).
    Accepted,
    /// The parser refused it with field errors (and they were well formed).
    Refused,
}

/// The cases to run per target and the time each may take.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    cases: u64,
    time: Option<Duration>,
}

impl Budget {
    /// From `FUZZ_CASES` and `FUZZ_SECONDS`; a set but unreadable value fails loudly rather
    /// than silently fuzzing less.
    pub fn from_env() -> Self {
        let read = |name: &str| {
            std::env::var(name).ok().map(|v| {
                v.trim()
                    .parse::<u64>()
                    .unwrap_or_else(|_| panic!("{name} must be a whole number, not {v:?}"))
            })
        };
        Self {
            cases: read("FUZZ_CASES").unwrap_or(DEFAULT_CASES).max(1),
            time: read("FUZZ_SECONDS").map(Duration::from_secs),
        }
    }

    /// Runs `check` on values of `strategy` until the cases are done or the time is up, then
    /// prints the count. Panics (with proptest's shrunk input) on the first failing case.
    pub fn run<S: Strategy>(
        self,
        target: &str,
        strategy: S,
        check: impl Fn(S::Value) -> Result<Verdict, TestCaseError>,
    ) -> Tally {
        let started = Instant::now();
        let accepted = Cell::new(0_u64);
        let refused = Cell::new(0_u64);
        let mut done = 0_u64;
        while done < self.cases {
            if self.time.is_some_and(|t| started.elapsed() >= t) {
                break;
            }
            let batch = BATCH.min(self.cases - done);
            let mut runner = TestRunner::new(Config {
                cases: u32::try_from(batch).unwrap_or(u32::MAX),
                failure_persistence: None,
                ..Config::default()
            });
            let outcome = runner.run(&strategy, |value| {
                match check(value)? {
                    Verdict::Accepted => accepted.set(accepted.get() + 1),
                    Verdict::Refused => refused.set(refused.get() + 1),
                }
                Ok(())
            });
            if let Err(failure) = outcome {
                panic!("fuzz {target}: {failure}");
            }
            done += batch;
        }
        let tally = Tally {
            cases: accepted.get() + refused.get(),
            accepted: accepted.get(),
            refused: refused.get(),
        };
        let stopped = if done < self.cases {
            " (time budget reached first)"
        } else {
            ""
        };
        println!(
            "fuzz {target}: {} cases, {} accepted, {} refused, 0 panics, {:.1}s{stopped}",
            tally.cases,
            tally.accepted,
            tally.refused,
            started.elapsed().as_secs_f64(),
        );
        tally
    }
}

/// What a target's run saw.
#[derive(Debug, Clone, Copy)]
pub struct Tally {
    /// Cases run.
    pub cases: u64,
    /// Inputs accepted.
    pub accepted: u64,
    /// Inputs refused.
    pub refused: u64,
}

impl Tally {
    /// Both branches were reached: a generator that only ever produced garbage (or only valid
    /// input) would make the run prove little.
    pub fn assert_both_branches(&self, target: &str) {
        assert!(
            self.accepted > 0 && self.refused > 0,
            "fuzz {target}: expected both accepted and refused inputs, saw {self:?}"
        );
    }
}
