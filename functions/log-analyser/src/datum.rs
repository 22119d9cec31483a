//! Metric datums as the analyser produces them, independent of any SDK, and how they are cut
//! into PutMetricData calls within the API's limits.

/// CloudWatch units the analyser uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Bytes,
    Milliseconds,
    Percent,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DatumValue {
    Single(f64),
    /// `(value, count)` pairs: PutMetricData's `Values` and `Counts`.
    Distribution(Vec<(f64, f64)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    pub name: &'static str,
    pub dimensions: Vec<(&'static str, String)>,
    /// Epoch milliseconds: the minute of the log records, not arrival time.
    pub timestamp_ms: i64,
    pub unit: Unit,
    pub value: DatumValue,
}

impl Datum {
    /// The sum over the datum (value × count), handy for tests and summaries.
    pub fn total(&self) -> f64 {
        match &self.value {
            DatumValue::Single(v) => *v,
            DatumValue::Distribution(pairs) => pairs.iter().map(|(v, c)| v * c).sum(),
        }
    }

    /// The number of samples in the datum.
    pub fn samples(&self) -> f64 {
        match &self.value {
            DatumValue::Single(_) => 1.0,
            DatumValue::Distribution(pairs) => pairs.iter().map(|(_, c)| c).sum(),
        }
    }

    pub fn dimension(&self, name: &str) -> Option<&str> {
        self.dimensions
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A generous estimate of the datum's size in a request body.
    fn estimated_bytes(&self) -> usize {
        let dims: usize = self
            .dimensions
            .iter()
            .map(|(n, v)| n.len() + v.len() + 24)
            .sum();
        let values = match &self.value {
            DatumValue::Single(_) => 16,
            DatumValue::Distribution(pairs) => pairs.len() * 24,
        };
        96 + self.name.len() + dims + values
    }
}

/// PutMetricData limits: 1,000 datums per call and a 1 MB request; the size bound keeps a
/// margin for the envelope and encoding differences between protocols.
pub const MAX_DATUMS_PER_CALL: usize = 1000;
pub const MAX_CALL_BYTES: usize = 900 * 1024;

/// Cuts datums into calls that respect the limits, keeping their order.
pub fn into_calls(datums: Vec<Datum>) -> Vec<Vec<Datum>> {
    let mut calls = Vec::new();
    let mut current = Vec::new();
    let mut bytes = 0;
    for datum in datums {
        let size = datum.estimated_bytes();
        if !current.is_empty()
            && (current.len() == MAX_DATUMS_PER_CALL || bytes + size > MAX_CALL_BYTES)
        {
            calls.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes += size;
        current.push(datum);
    }
    if !current.is_empty() {
        calls.push(current);
    }
    calls
}

#[cfg(test)]
mod tests {
    use super::*;

    fn datum(pairs: usize) -> Datum {
        Datum {
            name: "TimeTaken",
            dimensions: vec![("Distribution", "d1.cloudfront.net".to_string())],
            timestamp_ms: 0,
            unit: Unit::Milliseconds,
            value: DatumValue::Distribution((0..pairs).map(|i| (i as f64, 1.0)).collect()),
        }
    }

    #[test]
    fn calls_hold_at_most_a_thousand_datums() {
        let calls = into_calls((0..2500).map(|_| datum(1)).collect());
        assert_eq!(
            calls.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![1000, 1000, 500]
        );
    }

    #[test]
    fn calls_stay_under_the_size_limit() {
        let calls = into_calls((0..1000).map(|_| datum(150)).collect());
        assert!(calls.len() > 1);
        for call in &calls {
            let bytes: usize = call.iter().map(Datum::estimated_bytes).sum();
            assert!(bytes <= MAX_CALL_BYTES);
        }
        assert_eq!(calls.iter().map(Vec::len).sum::<usize>(), 1000);
    }
}
