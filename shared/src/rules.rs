//! Alert rules: the built-in set and the metric-math expressions rules may use.
//!
//! An expression is arithmetic (`+ - * /`, parentheses, numbers) over metric names from the
//! catalog, e.g. `100 * (1 - Status5xx / Requests)` or
//! `100 * WAF:BlockedRequests / (WAF:AllowedRequests + WAF:BlockedRequests)`. It is parsed here so validation rejects a
//! rule that names a metric the stack does not publish before anything is deployed, and the
//! evaluator uses the same parse tree.

use serde::{Deserialize, Serialize};

use crate::metrics;
use crate::schema::{Comparison, MissingData, Rule, Severity};

/// The built-in throughput baseline: an alarm when fewer requests per second arrive.
pub const DEFAULT_THROUGHPUT_BASELINE_RPS: f64 = 1.0;
/// The built-in cache-hit-ratio floor (percent), for stacks where some behaviour caches.
pub const LOW_CACHE_HIT_RATIO_PERCENT: f64 = 10.0;

/// The built-in rules, on metrics the analyser publishes (the seed toolkit's alerts, made
/// measurable): high latency, low success rate, 5xx error rate, high-threat clients,
/// throughput below `baseline_rps` requests per second (left out when it is 0), and a low cache
/// hit ratio when some behaviour caches (`caches`): with caching disabled everywhere, as a
/// reverse proxy for an API usually is, a hit ratio near zero is the intent, not a fault.
pub fn default_rules(baseline_rps: f64, caches: bool) -> Vec<Rule> {
    let rule = |name: &str,
                metric: Option<&str>,
                expression: Option<&str>,
                statistic: &str,
                comparison,
                threshold,
                missing_data,
                severity,
                action: &str| Rule {
        name: name.to_string(),
        metric: metric.map(str::to_string),
        expression: expression.map(str::to_string),
        statistic: statistic.to_string(),
        period_seconds: 60,
        comparison,
        threshold,
        datapoints_to_alarm: 3,
        evaluation_periods: 5,
        missing_data,
        severity,
        action: action.to_string(),
    };
    let mut rules = vec![
        rule(
            "HighLatency",
            Some(metrics::TIME_TAKEN),
            None,
            "p95",
            Comparison::GreaterThan,
            1000.0,
            MissingData::NotBreaching,
            Severity::Warning,
            "p95 time-taken above 1 s: check origin latency (OriginFirstByteLatency) and scale the origin",
        ),
        rule(
            "LowSuccessRate",
            None,
            Some("100 * (1 - Status5xx / Requests)"),
            "Sum",
            Comparison::LessThan,
            99.5,
            MissingData::NotBreaching,
            Severity::Critical,
            "fewer than 99.5% of requests succeed: investigate origin errors (Status5xx by path pattern)",
        ),
        rule(
            "High5xxErrorRate",
            Some(metrics::ERROR_RATE_5XX),
            None,
            "Average",
            Comparison::GreaterThan,
            1.0,
            MissingData::NotBreaching,
            Severity::Critical,
            "5xx error rate above 1%: check the origin's health and logs",
        ),
        rule(
            "HighThreatClients",
            Some(metrics::HIGH_THREAT_CLIENTS),
            None,
            "Maximum",
            Comparison::GreaterThan,
            0.0,
            MissingData::NotBreaching,
            Severity::Warning,
            "clients with HIGH or CRITICAL anomaly scores: review the analyser's top-offender log lines and consider a WAF rate rule",
        ),
    ];
    if baseline_rps > 0.0 {
        rules.push(rule(
            "ThroughputDegradation",
            None,
            Some("Requests / 60"),
            "Sum",
            Comparison::LessThan,
            baseline_rps,
            // No data at all (a stack without traffic yet) is INSUFFICIENT_DATA, not an alarm.
            MissingData::Missing,
            Severity::Warning,
            "requests per second below the baseline: check DNS, the origin's availability and upstream clients",
        ));
    }
    if caches {
        rules.push(rule(
            "LowCacheHitRatio",
            Some(metrics::CACHE_HIT_RATIO),
            None,
            "Average",
            Comparison::LessThan,
            LOW_CACHE_HIT_RATIO_PERCENT,
            MissingData::NotBreaching,
            Severity::Warning,
            "cache hit ratio below 10% although behaviours cache: check the origin's Cache-Control headers and the cache key headers",
        ));
    }
    rules
}

/// A parsed metric-math expression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Expression {
    Number(f64),
    Metric(String),
    Negate(Box<Expression>),
    Binary(Box<Expression>, Operator, Box<Expression>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Operator {
    Add,
    Subtract,
    Multiply,
    Divide,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(f64),
    Name(String),
    Op(char),
}

impl Expression {
    /// Parses an expression; every name must be a metric in the stack's catalog.
    pub fn parse(text: &str) -> Result<Expression, String> {
        let tokens = tokenize(text)?;
        let mut parser = Parser { tokens, at: 0 };
        let expression = parser.sum()?;
        if parser.at != parser.tokens.len() {
            return Err(format!(
                "unexpected {:?} after a complete expression",
                parser.tokens[parser.at]
            ));
        }
        Ok(expression)
    }

    /// The metric names the expression reads, in first-use order.
    pub fn metrics(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Expression::Number(_) => {}
            Expression::Metric(name) => {
                if !out.contains(&name.as_str()) {
                    out.push(name);
                }
            }
            Expression::Negate(inner) => inner.collect(out),
            Expression::Binary(left, _, right) => {
                left.collect(out);
                right.collect(out);
            }
        }
    }

    /// Evaluates with `value_of` giving each metric's value; IEEE semantics (x/0 is inf or NaN),
    /// which the evaluator treats as missing data.
    pub fn evaluate(&self, value_of: &dyn Fn(&str) -> Option<f64>) -> Option<f64> {
        Some(match self {
            Expression::Number(n) => *n,
            Expression::Metric(name) => value_of(name)?,
            Expression::Negate(inner) => -inner.evaluate(value_of)?,
            Expression::Binary(left, op, right) => {
                let (a, b) = (left.evaluate(value_of)?, right.evaluate(value_of)?);
                match op {
                    Operator::Add => a + b,
                    Operator::Subtract => a - b,
                    Operator::Multiply => a * b,
                    Operator::Divide => a / b,
                }
            }
        })
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c.is_ascii_digit() || c == '.' {
            let mut end = start;
            while let Some(&(i, d)) = chars.peek() {
                if d.is_ascii_digit() || d == '.' {
                    end = i + d.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            let literal = &text[start..end];
            let number = literal
                .parse::<f64>()
                .map_err(|_| format!("\"{literal}\" is not a number"))?;
            tokens.push(Token::Number(number));
        } else if c.is_ascii_alphabetic() {
            let mut end = start;
            let mut colons = 0;
            while let Some(&(i, d)) = chars.peek() {
                // `CloudFront:5xxErrorRate`, `WAF:BlockedRequests`; after a second colon comes
                // a WAF rule's name, which may hold `-` (`WAF:BlockedRequests:rate-limit`).
                let in_rule_name = colons == 2 && d == '-';
                if d.is_ascii_alphanumeric() || d == '_' || d == ':' || in_rule_name {
                    colons += usize::from(d == ':');
                    end = i + d.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            let name = &text[start..end];
            if metrics::resolve(name).is_none() {
                return Err(format!(
                    "\"{name}\" is not a metric the stack publishes; use {}, CloudFront:{} or WAF:{}",
                    metrics::STACK_METRICS.join(", "),
                    metrics::CLOUDFRONT_METRICS.join("|"),
                    metrics::WAF_METRICS.join("|")
                ));
            }
            tokens.push(Token::Name(name.to_string()));
        } else if "+-*/()".contains(c) {
            tokens.push(Token::Op(c));
            chars.next();
        } else {
            return Err(format!(
                "unexpected character '{c}'; expressions use metric names, numbers, + - * / and parentheses"
            ));
        }
    }
    if tokens.is_empty() {
        return Err("the expression is empty".to_string());
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek_op(&self) -> Option<char> {
        match self.tokens.get(self.at) {
            Some(Token::Op(c)) => Some(*c),
            _ => None,
        }
    }

    fn sum(&mut self) -> Result<Expression, String> {
        let mut left = self.product()?;
        while let Some(op @ ('+' | '-')) = self.peek_op() {
            self.at += 1;
            let right = self.product()?;
            let op = if op == '+' {
                Operator::Add
            } else {
                Operator::Subtract
            };
            left = Expression::Binary(Box::new(left), op, Box::new(right));
        }
        Ok(left)
    }

    fn product(&mut self) -> Result<Expression, String> {
        let mut left = self.unary()?;
        while let Some(op @ ('*' | '/')) = self.peek_op() {
            self.at += 1;
            let right = self.unary()?;
            let op = if op == '*' {
                Operator::Multiply
            } else {
                Operator::Divide
            };
            left = Expression::Binary(Box::new(left), op, Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expression, String> {
        if self.peek_op() == Some('-') {
            self.at += 1;
            return Ok(Expression::Negate(Box::new(self.unary()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Expression, String> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        match token {
            Some(Token::Number(n)) => Ok(Expression::Number(n)),
            Some(Token::Name(name)) => Ok(Expression::Metric(name)),
            Some(Token::Op('(')) => {
                let inner = self.sum()?;
                if self.peek_op() != Some(')') {
                    return Err("missing closing parenthesis".to_string());
                }
                self.at += 1;
                Ok(inner)
            }
            Some(other) => Err(format!("unexpected {other:?}")),
            None => Err("the expression ends too early".to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_evaluates_success_rate() {
        let e = Expression::parse("100 * (1 - Status5xx / Requests)")
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(e.metrics(), vec!["Status5xx", "Requests"]);
        let value = e.evaluate(&|name| match name {
            "Status5xx" => Some(5.0),
            "Requests" => Some(1000.0),
            _ => None,
        });
        assert_eq!(value, Some(99.5));
    }

    #[test]
    fn precedence_and_unary_minus() {
        let e = Expression::parse("-2 + 3 * 4").unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(e.evaluate(&|_| None), Some(10.0));
    }

    #[test]
    fn rejects_unknown_metrics_and_bad_syntax() {
        assert!(
            Expression::parse("Latency / 2")
                .unwrap_err()
                .contains("not a metric")
        );
        assert!(
            Expression::parse("(Requests")
                .unwrap_err()
                .contains("parenthesis")
        );
        assert!(Expression::parse("Requests Requests").is_err());
        assert!(Expression::parse("").is_err());
        assert!(Expression::parse("Requests % 2").is_err());
    }

    #[test]
    fn cloudfront_and_waf_metrics_in_expressions() {
        let e = Expression::parse(
            "100 * WAF:BlockedRequests / (WAF:AllowedRequests + WAF:BlockedRequests)",
        )
        .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(
            e.metrics(),
            vec!["WAF:BlockedRequests", "WAF:AllowedRequests"]
        );
        let value = e.evaluate(&|name| match name {
            "WAF:BlockedRequests" => Some(25.0),
            "WAF:AllowedRequests" => Some(75.0),
            _ => None,
        });
        assert_eq!(value, Some(25.0));
        // A rule's name after the second colon keeps its hyphens; elsewhere `-` subtracts.
        let e = Expression::parse("WAF:BlockedRequests:rate-limit - CloudFront:5xxErrorRate")
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(
            e.metrics(),
            vec!["WAF:BlockedRequests:rate-limit", "CloudFront:5xxErrorRate"]
        );
        let e = Expression::parse("Requests-Status5xx").unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(e.metrics(), vec!["Requests", "Status5xx"]);
        assert!(
            Expression::parse("WAF:PassedRequests / 2")
                .unwrap_err()
                .contains("WAF:AllowedRequests|BlockedRequests|CountedRequests")
        );
    }

    #[test]
    fn default_rules_reference_real_metrics() {
        for rule in default_rules(DEFAULT_THROUGHPUT_BASELINE_RPS, true) {
            if let Some(metric) = &rule.metric {
                assert!(metrics::resolve(metric).is_some(), "{metric}");
            }
            if let Some(expression) = &rule.expression {
                assert!(Expression::parse(expression).is_ok(), "{expression}");
            }
        }
    }
}
