//! `[waf.auto_block]`: the loop that puts the analyser's high scorers on the block list.

use super::{choice, flag, number};
use crate::error::Report;
use crate::reader::TableReader;
use crate::schema::{
    AUTO_BLOCK_DEFAULT_EXPIRY_MINUTES, AUTO_BLOCK_DEFAULT_MAX, AUTO_BLOCK_DEFAULT_MINUTES,
    AUTO_BLOCK_DEFAULT_WINDOW, AutoBlock, BlockLevel, WAF_IP_SET_LIMIT, WafMode,
};

/// The longest `expiry`: 30 days (a block meant to outlast that belongs in `deployer block add`
/// or the config's own lists, where a person decides it).
const MAX_EXPIRY_MINUTES: u64 = 30 * 24 * 60;

/// `"90m"`, `"1h"`, `"2d"` → minutes.
fn expiry_minutes(text: &str) -> Option<u64> {
    let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let count: u64 = digits.parse().ok()?;
    let per = match unit {
        "m" => 1,
        "h" => 60,
        "d" => 24 * 60,
        _ => return None,
    };
    count.checked_mul(per)
}

/// `waf_mode` is `[waf]`'s own mode: the loop's default, like every rule's.
pub(super) fn read_auto_block(mut t: TableReader, r: &mut Report, waf_mode: WafMode) -> AutoBlock {
    let enabled = flag(&mut t, "enabled", r, true);
    let level = choice(
        &mut t,
        "level",
        r,
        BlockLevel::parse,
        BlockLevel::allowed(),
        BlockLevel::Critical,
    );
    let window = number(
        &mut t,
        "window",
        r,
        1..=60,
        " minutes",
        i64::from(AUTO_BLOCK_DEFAULT_WINDOW),
    );
    let minutes = number(
        &mut t,
        "minutes",
        r,
        1..=60,
        " minutes",
        i64::from(AUTO_BLOCK_DEFAULT_MINUTES.min(window as u32)),
    );
    if minutes > window
        && let Some(at) = t.integer("minutes", r)
    {
        r.add(
            &at.path,
            at.span,
            format!(
                "{minutes} minutes cannot fall within a window of {window}; use minutes ≤ window (M of the last N minutes)"
            ),
        );
    }
    let mut expiry = u64::from(AUTO_BLOCK_DEFAULT_EXPIRY_MINUTES);
    if let Some(at) = t.string("expiry", r) {
        match expiry_minutes(&at.value) {
            Some(value) if (1..=MAX_EXPIRY_MINUTES).contains(&value) => expiry = value,
            _ => r.add(
                &at.path,
                at.span,
                format!(
                    "\"{}\" is not valid; expected a duration from 1m to 30d: a whole number with m (minutes), h (hours) or d (days), e.g. \"30m\", \"1h\", \"2d\"",
                    at.value
                ),
            ),
        }
    }
    let max = number(
        &mut t,
        "max",
        r,
        1..=i64::from(WAF_IP_SET_LIMIT),
        " addresses (WAF's limit per IP set)",
        i64::from(AUTO_BLOCK_DEFAULT_MAX),
    );
    let mode = choice(
        &mut t,
        "mode",
        r,
        WafMode::parse,
        WafMode::allowed(),
        waf_mode,
    );
    t.finish(r);
    AutoBlock {
        enabled,
        level,
        minutes: u32::try_from(minutes.min(window)).unwrap_or(AUTO_BLOCK_DEFAULT_MINUTES),
        window: u32::try_from(window).unwrap_or(AUTO_BLOCK_DEFAULT_WINDOW),
        expiry_minutes: u32::try_from(expiry).unwrap_or(AUTO_BLOCK_DEFAULT_EXPIRY_MINUTES),
        max: u32::try_from(max).unwrap_or(AUTO_BLOCK_DEFAULT_MAX),
        mode,
    }
}

#[cfg(test)]
mod tests {
    use crate::schema::{AutoBlock, BlockLevel, StackConfig, WafMode};

    fn parse(waf: &str) -> Result<StackConfig, String> {
        let text = format!(
            "name = \"shop\"\nregion = \"eu-west-1\"\n[[origins]]\nid = \"app\"\ndomain = \"app.example.com\"\n{waf}"
        );
        StackConfig::parse(&text, "proxy.toml").map_err(|err| err.to_string())
    }

    fn auto_block(waf: &str) -> AutoBlock {
        match parse(waf) {
            Ok(config) => match config.waf.and_then(|w| w.auto_block) {
                Some(auto) => auto,
                None => panic!("no [waf.auto_block] in {waf}"),
            },
            Err(err) => panic!("{err}"),
        }
    }

    fn problem(waf: &str) -> String {
        match parse(waf) {
            Ok(_) => panic!("accepted: {waf}"),
            Err(err) => err,
        }
    }

    #[test]
    fn a_bare_section_gets_the_documented_defaults() {
        let auto = auto_block("[waf]\n[waf.auto_block]\n");
        assert_eq!(
            auto,
            AutoBlock {
                enabled: true,
                level: BlockLevel::Critical,
                minutes: 3,
                window: 5,
                expiry_minutes: 60,
                max: 100,
                mode: WafMode::Block,
            }
        );
        assert!(
            parse("[waf]\n")
                .ok()
                .and_then(|c| c.waf)
                .is_some_and(|w| w.auto_block.is_none())
        );
    }

    #[test]
    fn every_field_is_read_and_mode_defaults_to_the_waf_mode() {
        let auto = auto_block(
            "[waf]\nmode = \"count\"\n[waf.auto_block]\nenabled = false\nlevel = \"HIGH\"\nminutes = 2\nwindow = 10\nexpiry = \"2d\"\nmax = 500\n",
        );
        assert!(!auto.enabled);
        assert_eq!(auto.level, BlockLevel::High);
        assert_eq!((auto.minutes, auto.window), (2, 10));
        assert_eq!(auto.expiry_minutes, 2 * 24 * 60);
        assert_eq!(auto.max, 500);
        assert_eq!(auto.mode, WafMode::Count);
        let auto = auto_block(
            "[waf]\nmode = \"count\"\n[waf.auto_block]\nmode = \"block\"\nexpiry = \"30m\"\n",
        );
        assert_eq!(auto.mode, WafMode::Block);
        assert_eq!(auto.expiry_minutes, 30);
    }

    #[test]
    fn more_minutes_than_the_window_is_refused_at_its_line() {
        let err = problem("[waf]\n[waf.auto_block]\nminutes = 6\nwindow = 5\n");
        assert!(err.contains("proxy.toml:8:"), "{err}");
        assert!(err.contains("waf.auto_block.minutes"), "{err}");
        assert!(err.contains("minutes ≤ window"), "{err}");
    }

    #[test]
    fn max_beyond_the_ip_set_limit_is_refused() {
        let err = problem("[waf]\n[waf.auto_block]\nmax = 10001\n");
        assert!(err.contains("waf.auto_block.max"), "{err}");
        assert!(err.contains("1–10000"), "{err}");
        assert_eq!(
            auto_block("[waf]\n[waf.auto_block]\nmax = 10000\n").max,
            10_000
        );
    }

    #[test]
    fn bad_level_expiry_window_and_unknown_keys_are_refused() {
        let err = problem("[waf]\n[waf.auto_block]\nlevel = \"LOW\"\n");
        assert!(
            err.contains("\"LOW\" is not allowed; use one of: MEDIUM, HIGH, CRITICAL"),
            "{err}"
        );
        for expiry in ["\"1 hour\"", "\"0m\"", "\"31d\"", "\"h\"", "\"10\""] {
            let err = problem(&format!("[waf]\n[waf.auto_block]\nexpiry = {expiry}\n"));
            assert!(err.contains("waf.auto_block.expiry"), "{expiry}: {err}");
            assert!(err.contains("from 1m to 30d"), "{expiry}: {err}");
        }
        let err = problem("[waf]\n[waf.auto_block]\nwindow = 61\n");
        assert!(
            err.contains("61 is out of range; allowed 1–60 minutes"),
            "{err}"
        );
        let err = problem("[waf]\n[waf.auto_block]\nthreshold = 3\n");
        assert!(err.contains("threshold"), "{err}");
    }

    #[test]
    fn auto_block_needs_the_analyser_and_the_evaluator() {
        let err = problem("[logging]\nenabled = false\n[waf]\n[waf.auto_block]\n");
        assert!(err.contains("waf.auto_block.enabled"), "{err}");
        assert!(err.contains("needs logging.enabled = true"), "{err}");
        let err = problem("[alarms]\nenabled = false\n[waf]\n[waf.auto_block]\n");
        assert!(err.contains("needs alarms.enabled = true"), "{err}");
        // A paused loop needs neither.
        assert!(
            !auto_block("[logging]\nenabled = false\n[waf]\n[waf.auto_block]\nenabled = false\n")
                .enabled
        );
    }

    #[test]
    fn auto_block_needs_the_waf_the_stack_owns() {
        // Outside [waf] there is no such section: the key is unknown at the top level.
        let err = problem("[auto_block]\n");
        assert!(err.contains("auto_block"), "{err}");
    }
}
