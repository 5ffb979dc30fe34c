//! Golden tests for tables, checked against kubectl 1.33's printers.

use super::*;

#[test]
fn human_duration_matches_apimachinery() {
    let cases = [
        (0, "0s"),
        (45_000, "45s"),
        (119_000, "119s"),
        (120_000, "2m"),
        (190_000, "3m10s"),
        (600_000, "10m"),
        (179 * 60_000, "179m"),
        (3 * 3_600_000, "3h"),
        (7 * 3_600_000 + 30 * 60_000, "7h30m"),
        (8 * 3_600_000, "8h"),
        (47 * 3_600_000, "47h"),
        (51 * 3_600_000, "2d3h"),
        (8 * 86_400_000, "8d"),
        (800 * 86_400_000, "2y70d"),
    ];
    for (ms, want) in cases {
        assert_eq!(human_duration(ms), want, "{ms}");
    }
}
