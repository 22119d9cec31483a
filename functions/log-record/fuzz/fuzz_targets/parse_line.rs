//! Any text as a real-time log line, under the default field layout and under all 66 fields:
//! the parser returns a record or an error, never panics, and a record's fields borrow from
//! the line.
#![no_main]

use cfrp_config::Field;
use cfrp_log_record::{Layout, parse_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    for fields in [Field::default_set(), Field::ALL.to_vec()] {
        let layout = Layout::new(&fields);
        if let Ok(record) = parse_line(&layout, line) {
            // Touch what the analyser reads so nothing is optimised away.
            std::hint::black_box(&record);
        }
    }
});
