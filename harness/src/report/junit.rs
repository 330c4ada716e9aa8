//! JUnit XML: one test suite for the run, one test case per scenario; failures carry the
//! terminal report's details (PINs masked).

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::{Style, terminal};
use crate::engine::{Outcome, Status, Summary};

/// The report as XML.
///
/// # Errors
/// The XML cannot be serialised.
pub fn render(
    outcomes: &[Outcome],
    sum: &Summary,
    target: &str,
) -> Result<String, quick_junit::SerializeError> {
    let mut report = Report::new("mynasim");
    let mut suite = TestSuite::new(format!("mynasim run ({target})"));
    for o in outcomes {
        let status = match o.status {
            Status::Passed => TestCaseStatus::success(),
            Status::NotApplicable => {
                let mut st = TestCaseStatus::skipped();
                if let Some(m) = &o.message {
                    st.set_message(m.clone());
                }
                st
            }
            Status::Failed | Status::Invalid | Status::Unreachable => {
                let kind = if o.status == Status::Failed {
                    NonSuccessKind::Failure
                } else {
                    NonSuccessKind::Error
                };
                let mut st = TestCaseStatus::non_success(kind);
                st.set_message(o.message.clone().unwrap_or_default());
                st.set_description(terminal::details(o, Style::PLAIN));
                st
            }
        };
        let mut case = TestCase::new(o.name.clone(), status);
        case.set_classname(o.id.clone());
        case.set_time(std::time::Duration::from_micros(o.micros));
        suite.add_test_case(case);
    }
    suite.set_time(std::time::Duration::from_millis(sum.millis));
    report.add_test_suite(suite);
    report.to_string()
}
