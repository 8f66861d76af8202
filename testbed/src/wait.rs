//! Small helpers the tests share: bounded polling and reading Prometheus text.

use std::time::{Duration, Instant};

/// Polls `condition` every 20 ms until it holds or `timeout` passes; true when it held.
/// (A bounded wait for a condition, never a fixed sleep standing in for one.)
pub fn poll(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The value of the first sample of `family` whose line contains every `label`, in
/// Prometheus text format (`name{labels} value`); `None` when there is none.
pub fn metric_sample(text: &str, family: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            line.strip_prefix(family)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|line| labels.iter().all(|label| line.contains(label)))
        .find_map(|line| line.rsplit(' ').next()?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_found_by_family_and_labels() {
        let text =
            "# HELP x_total x\nx_total{type=\"a\"} 1\nx_total{type=\"b\"} 2\nx_total_sum 9\n";
        assert_eq!(metric_sample(text, "x_total", &[]), Some(1.0));
        assert_eq!(metric_sample(text, "x_total", &["type=\"b\""]), Some(2.0));
        assert_eq!(metric_sample(text, "x", &[]), None);
        assert!(poll(Duration::from_millis(50), || true));
        assert!(!poll(Duration::from_millis(50), || false));
    }
}
