//! Any bytes as record data: counted as malformed or analysed, never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use cfrp_config::{AnalyserSettings, Field};
use cfrp_log_analyser::aggregate::analyse;
use cfrp_log_analyser::record::Layout;
use proptest::prelude::*;

fn settings() -> AnalyserSettings {
    AnalyserSettings {
        stack: "s".to_string(),
        namespace: "N".to_string(),
        fields: Field::default_set(),
        top_n: 3,
        app_headers: vec!["x-op".to_string()],
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(records in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..600), 0..8)) {
        let s = settings();
        let analysis = analyse(&s, &Layout::new(&s.fields), records.iter().map(Vec::as_slice), 1_700_000_000_000);
        prop_assert_eq!(analysis.summary.records, records.len());
    }

    #[test]
    fn tab_heavy_text_never_panics(fields in prop::collection::vec("[-0-9.a-zA-Z%:]{0,12}", 0..60)) {
        let s = settings();
        let line = fields.join("\t");
        let analysis = analyse(&s, &Layout::new(&s.fields), [line.as_bytes()], 1_700_000_000_000);
        // Every non-blank line ends up counted exactly once: analysed, malformed or stale.
        let expected = usize::from(!line.trim().is_empty());
        prop_assert_eq!(analysis.summary.analysed + analysis.summary.malformed + analysis.summary.stale, expected);
    }
}
