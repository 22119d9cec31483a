//! Deterministic resource names and tags, derived from the stack name alone, so any clone of
//! the repository with the same config finds the same resources again.

/// Tag key every resource of a stack carries; its value is the stack name.
pub const STACK_TAG: &str = "cfrp:stack";
/// Tag marking what created the resource.
pub const MANAGED_BY_TAG: &str = "cfrp:managed-by";
pub const MANAGED_BY_VALUE: &str = "cloudfront-reverse-proxy";
/// Tag `deployer import --adopt` puts on a distribution the stack did not create; its value
/// is the distribution's own id, so the tag copied onto another distribution claims nothing.
pub const ADOPTED_TAG: &str = "cfrp:adopted";

/// The three Lambda functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    LogAnalyser,
    AlarmEvaluator,
    Invalidator,
}

impl Function {
    pub const ALL: [Function; 3] = [
        Function::LogAnalyser,
        Function::AlarmEvaluator,
        Function::Invalidator,
    ];

    /// The short name, also the crate's binary directory name under `functions/`.
    pub const fn short(self) -> &'static str {
        match self {
            Function::LogAnalyser => "log-analyser",
            Function::AlarmEvaluator => "alarm-evaluator",
            Function::Invalidator => "invalidator",
        }
    }
}

/// Every resource name of one stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    stack: String,
}

impl Names {
    pub fn new(stack: &str) -> Names {
        Names {
            stack: stack.to_string(),
        }
    }

    fn prefixed(&self, suffix: &str) -> String {
        format!("cfrp-{}-{suffix}", self.stack)
    }

    pub fn stack(&self) -> &str {
        &self.stack
    }

    /// The distribution's CallerReference, and the value it is found by again.
    pub fn caller_reference(&self) -> String {
        self.prefixed("distribution")
    }
    pub fn log_stream(&self) -> String {
        self.prefixed("realtime-logs")
    }
    pub fn realtime_log_config(&self) -> String {
        self.prefixed("realtime-logs")
    }
    pub fn cloudfront_logs_role(&self) -> String {
        self.prefixed("cloudfront-logs")
    }
    pub fn viewer_request_function(&self) -> String {
        self.prefixed("viewer-request")
    }
    pub fn lambda(&self, function: Function) -> String {
        self.prefixed(function.short())
    }
    pub fn lambda_role(&self, function: Function) -> String {
        self.prefixed(&format!("{}-role", function.short()))
    }
    pub fn log_group(&self, function: Function) -> String {
        format!("/aws/lambda/{}", self.lambda(function))
    }
    pub fn manuscripts_queue(&self) -> String {
        self.prefixed("manuscripts")
    }
    pub fn manuscripts_dead_letter_queue(&self) -> String {
        self.prefixed("manuscripts-dlq")
    }
    pub fn analyser_failure_queue(&self) -> String {
        self.prefixed("log-analyser-failures")
    }
    pub fn schedule_rule(&self) -> String {
        self.prefixed("evaluate")
    }
    pub fn alarm_topic(&self) -> String {
        self.prefixed("alarms")
    }
    pub fn dashboard(&self) -> String {
        self.prefixed("dashboard")
    }
    /// The WAFv2 web ACL of `[waf]`; also its CloudWatch metric name.
    pub fn web_acl(&self) -> String {
        self.prefixed("web-acl")
    }
    /// A WAF IP set of the web ACL: `list` is `allow` or `block`, one set per IP version
    /// (a WAF IP set holds one version).
    pub fn waf_ip_set(&self, list: &str, ipv6: bool) -> String {
        self.prefixed(&format!("{list}-{}", if ipv6 { "v6" } else { "v4" }))
    }
    /// The DynamoDB table of `[waf.auto_block]`: the analyser's strikes and the block list's
    /// entries with their expiry.
    pub fn block_table(&self) -> String {
        self.prefixed("blocks")
    }
    pub fn alarm(&self, rule: &str) -> String {
        self.prefixed(&format!("rule-{rule}"))
    }
    /// An alarm on the pipeline itself (`[alarms.pipeline]`), e.g. `log-analyser-errors`.
    pub fn pipeline_alarm(&self, what: &str) -> String {
        self.prefixed(&format!("pipeline-{what}"))
    }

    /// The tags every taggable resource of the stack carries.
    pub fn tags(&self) -> Vec<(String, String)> {
        vec![
            (STACK_TAG.to_string(), self.stack.clone()),
            (MANAGED_BY_TAG.to_string(), MANAGED_BY_VALUE.to_string()),
        ]
    }

    /// Each derived name with the AWS length limit for its kind of resource.
    pub fn with_limits(&self) -> Vec<(&'static str, String, usize)> {
        let mut out = vec![
            ("Kinesis stream", self.log_stream(), 128),
            ("real-time log config", self.realtime_log_config(), 128),
            ("IAM role", self.cloudfront_logs_role(), 64),
            ("CloudFront function", self.viewer_request_function(), 64),
            ("SQS queue", self.manuscripts_queue(), 80),
            ("SQS queue", self.manuscripts_dead_letter_queue(), 80),
            ("SQS queue", self.analyser_failure_queue(), 80),
            ("EventBridge rule", self.schedule_rule(), 64),
            ("SNS topic", self.alarm_topic(), 256),
            ("CloudWatch dashboard", self.dashboard(), 255),
            ("DynamoDB table", self.block_table(), 255),
        ];
        for function in Function::ALL {
            out.push(("Lambda function", self.lambda(function), 64));
            out.push(("IAM role", self.lambda_role(function), 64));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_deterministic_and_prefixed() {
        let names = Names::new("shop");
        assert_eq!(
            names.lambda(Function::LogAnalyser),
            "cfrp-shop-log-analyser"
        );
        assert_eq!(
            names.log_group(Function::Invalidator),
            "/aws/lambda/cfrp-shop-invalidator"
        );
        assert_eq!(names, Names::new("shop"));
    }

    #[test]
    fn the_longest_stack_name_fits_every_limit() {
        let names = Names::new(&"a".repeat(32));
        for (kind, name, limit) in names.with_limits() {
            assert!(name.len() <= limit, "{kind} {name} exceeds {limit}");
        }
    }
}
