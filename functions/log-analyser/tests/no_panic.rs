//! Any bytes as record data: every record counted exactly once (analysed, malformed or
//! stale), never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use cfrp_config::{AnalyserSettings, Field};
use cfrp_log_analyser::aggregate::analyse;
use cfrp_log_analyser::record::Layout;
use proptest::prelude::*;

fn settings() -> AnalyserSettings {
    AnalyserSettings {
        strikes: None,
        stack: "s".to_string(),
        namespace: "N".to_string(),
        fields: Field::default_set(),
        top_n: 3,
        app_headers: vec!["x-op".to_string()],
        sampling_rate: 100,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(records in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..600), 0..8)) {
        let s = settings();
        let analysis = analyse(&s, &Layout::new(&s.fields), records.iter().map(Vec::as_slice), 1_700_000_000_000);
        let summary = &analysis.summary;
        prop_assert_eq!(summary.records, records.len());
        prop_assert_eq!(summary.analysed + summary.malformed + summary.stale, records.len());
    }

    /// Records of only newlines, carriage returns, spaces and tabs: each one malformed, none lost.
    #[test]
    fn blank_records_are_each_counted_as_malformed(records in prop::collection::vec("[\n\r \t]{0,6}", 1..8)) {
        let s = settings();
        let analysis = analyse(&s, &Layout::new(&s.fields), records.iter().map(|r| r.as_bytes()), 1_700_000_000_000);
        prop_assert_eq!(analysis.summary.malformed, records.len());
        prop_assert_eq!(analysis.summary.analysed + analysis.summary.stale, 0);
    }

    /// Real lines, one to three per record, fresh or stale, with blank lines between: each
    /// record counted once, and every fresh line a request.
    #[test]
    fn multi_line_records_are_counted_once_and_their_lines_analysed(shapes in prop::collection::vec((1usize..4, any::<bool>(), any::<bool>()), 1..6)) {
        let s = settings();
        let now_ms = 1_700_000_000_000_i64;
        let line = |fresh: bool| {
            let mut fields = vec!["-".to_string(); s.fields.len()];
            let at = if fresh { now_ms / 1000 } else { now_ms / 1000 - 30 * 24 * 3600 };
            fields[0] = format!("{at}.000");
            fields.join("\t")
        };
        let records: Vec<String> = shapes
            .iter()
            .map(|(n, fresh, blank_between)| {
                let joiner = if *blank_between { "\n\n" } else { "\n" };
                vec![line(*fresh); *n].join(joiner)
            })
            .collect();
        let analysis = analyse(&s, &Layout::new(&s.fields), records.iter().map(|r| r.as_bytes()), now_ms);
        let summary = &analysis.summary;
        prop_assert_eq!(summary.analysed + summary.malformed + summary.stale, records.len());
        prop_assert_eq!(summary.analysed, shapes.iter().filter(|(_, fresh, _)| *fresh).count());
        prop_assert_eq!(summary.stale, shapes.iter().filter(|(_, fresh, _)| !*fresh).count());
        let requests: f64 = analysis.datums.iter().filter(|d| d.name == cfrp_config::metrics::REQUESTS).map(|d| d.total()).sum();
        let fresh_lines: usize = shapes.iter().filter(|(_, fresh, _)| *fresh).map(|(n, _, _)| n).sum();
        prop_assert_eq!(requests, fresh_lines as f64);
    }

    #[test]
    fn tab_heavy_text_never_panics(fields in prop::collection::vec("[-0-9.a-zA-Z%:]{0,12}", 0..60)) {
        let s = settings();
        let line = fields.join("\t");
        let analysis = analyse(&s, &Layout::new(&s.fields), [line.as_bytes()], 1_700_000_000_000);
        // The record is counted exactly once: analysed, malformed or stale (a blank one is
        // malformed).
        prop_assert_eq!(analysis.summary.analysed + analysis.summary.malformed + analysis.summary.stale, 1);
    }
}
