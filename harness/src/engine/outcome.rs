//! What running scenarios produced: an [`Outcome`] per scenario, a [`StepOutcome`] per step
//! with its share of the transcript, and the run's [`Summary`].

use std::path::PathBuf;

use mynasim_simulator::transcript::{Entry, Event, Transcript};

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepStatus {
    /// Every expectation held.
    Passed,
    /// Some did not: what was expected and what came back, one line each.
    Failed(Vec<String>),
    /// Not run: an earlier step failed.
    Skipped,
}

/// One step's result.
#[derive(Debug, Clone)]
pub struct StepOutcome {
    /// Step number (from 1).
    pub number: usize,
    /// Line in the file.
    pub line: u64,
    /// What it did.
    pub label: String,
    /// The scenario's note on the step.
    pub note: Option<String>,
    /// Result.
    pub status: StepStatus,
    /// What passed between the harness and the card during the step.
    pub entries: Vec<Entry>,
    /// Time spent, in microseconds.
    pub micros: u64,
}

/// How a scenario ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every step passed.
    Passed,
    /// A step failed, or the transcript differs from its golden file.
    Failed,
    /// The scenario needs its own card state and the target is another card.
    NotApplicable,
    /// The scenario or its profile is invalid.
    Invalid,
    /// The target could not be reached.
    Unreachable,
}

impl Status {
    /// The name reports use (`not-applicable`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::NotApplicable => "not-applicable",
            Self::Invalid => "invalid",
            Self::Unreachable => "unreachable",
        }
    }
}

/// A scenario's result.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `path` or `path#N`.
    pub id: String,
    /// The file.
    pub path: PathBuf,
    /// Position in a list file.
    pub index: usize,
    /// Scenario name.
    pub name: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Target description.
    pub target: String,
    /// Result.
    pub status: Status,
    /// Why, for anything but passed.
    pub message: Option<String>,
    /// The power-on before the first step.
    pub opening: Vec<Entry>,
    /// Steps.
    pub steps: Vec<StepOutcome>,
    /// Time spent, in microseconds.
    pub micros: u64,
}

impl Outcome {
    /// An outcome for a scenario that never ran (not loaded, not compiled, no target).
    pub fn without_run(
        id: String,
        path: PathBuf,
        index: usize,
        name: String,
        status: Status,
        message: String,
    ) -> Self {
        Self {
            id,
            path,
            index,
            name,
            tags: Vec::new(),
            target: String::new(),
            status,
            message: Some(message),
            opening: Vec::new(),
            steps: Vec::new(),
            micros: 0,
        }
    }

    /// The first failed step, with its index.
    pub fn failed_step(&self) -> Option<(usize, &StepOutcome)> {
        self.steps
            .iter()
            .enumerate()
            .find(|(_, s)| matches!(s.status, StepStatus::Failed(_)))
    }

    /// The whole session as a transcript: a `# scenario:` line, the power-on, then each
    /// step's entries after a `# step N: label` line (and its note).
    pub fn transcript(&self) -> Transcript {
        let mut t = Transcript::new();
        let comment = |text: String| Entry::new(Event::Comment(text));
        t.entries.push(comment(format!("scenario: {}", self.name)));
        t.extend(self.opening.iter().cloned());
        for step in &self.steps {
            if step.status == StepStatus::Skipped {
                continue;
            }
            t.entries
                .push(comment(format!("step {}: {}", step.number, step.label)));
            if let Some(note) = &step.note {
                let words: Vec<&str> = note.split_whitespace().collect();
                t.entries.push(comment(format!("  {}", words.join(" "))));
            }
            t.extend(step.entries.iter().cloned());
        }
        t
    }
}

/// Counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
    /// Invalid scenario or profile.
    pub invalid: usize,
    /// Not applicable on this target.
    pub not_applicable: usize,
    /// Target unreachable.
    pub unreachable: usize,
    /// Wall time in milliseconds.
    pub millis: u64,
}

impl Summary {
    /// Counts outcomes.
    pub fn of(outcomes: &[Outcome], millis: u64) -> Self {
        let mut s = Self {
            millis,
            ..Self::default()
        };
        for o in outcomes {
            match o.status {
                Status::Passed => s.passed += 1,
                Status::Failed => s.failed += 1,
                Status::Invalid => s.invalid += 1,
                Status::NotApplicable => s.not_applicable += 1,
                Status::Unreachable => s.unreachable += 1,
            }
        }
        s
    }

    /// Total scenarios.
    pub fn total(&self) -> usize {
        self.passed + self.failed + self.invalid + self.not_applicable + self.unreachable
    }

    /// How many did not pass (n/a counts as passed).
    pub fn not_passed(&self) -> usize {
        self.failed + self.invalid + self.unreachable
    }

    /// The most serious way a scenario did not pass: unreachable, then invalid, then
    /// failed; `None` when all passed (n/a counts as passed).
    pub fn worst(&self) -> Option<Status> {
        if self.unreachable > 0 {
            Some(Status::Unreachable)
        } else if self.invalid > 0 {
            Some(Status::Invalid)
        } else if self.failed > 0 {
            Some(Status::Failed)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(status: Status) -> Outcome {
        Outcome::without_run(
            "x".into(),
            PathBuf::from("x.yaml"),
            0,
            "x".into(),
            status,
            String::new(),
        )
    }

    #[test]
    fn the_worst_outcome_decides() {
        let of = |list: &[Status]| {
            let outcomes: Vec<Outcome> = list.iter().map(|s| outcome(*s)).collect();
            Summary::of(&outcomes, 0)
        };
        assert_eq!(of(&[Status::Passed, Status::NotApplicable]).worst(), None);
        assert_eq!(
            of(&[Status::Passed, Status::Failed]).worst(),
            Some(Status::Failed)
        );
        assert_eq!(
            of(&[Status::Failed, Status::Invalid]).worst(),
            Some(Status::Invalid)
        );
        assert_eq!(
            of(&[Status::Invalid, Status::Unreachable, Status::Failed]).worst(),
            Some(Status::Unreachable)
        );
        let s = of(&[
            Status::Passed,
            Status::Failed,
            Status::Invalid,
            Status::NotApplicable,
            Status::Unreachable,
        ]);
        assert_eq!((s.total(), s.not_passed()), (5, 3));
    }
}
