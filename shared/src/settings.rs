//! What the deployer hands each function, as one environment variable, and how the function
//! reads it back at init with the same validation.
//!
//! Each function gets only what it needs: Lambda caps all of a function's environment
//! variables together at 4 KB, which a whole stack config can exceed.

use serde::{Deserialize, Serialize};

use crate::canary::CanarySettings;
use crate::error::ConfigError;
use crate::fields::Field;
use crate::metrics;
use crate::rules::Expression;
use crate::schema::{AutoBlock, BlockLevel, Manuscripts, Rule, StackConfig};
use crate::{checks, naming};

/// The environment variable carrying a function's settings as JSON.
pub const SETTINGS_VARIABLE: &str = "CFRP_SETTINGS";
/// Lambda's limit on the total size of a function's environment variables.
pub const ENVIRONMENT_LIMIT_BYTES: usize = 4 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyserSettings {
    pub stack: String,
    pub namespace: String,
    pub fields: Vec<Field>,
    pub top_n: u32,
    pub app_headers: Vec<String>,
    /// The real-time log config's sampling rate (1–100 %): the analyser publishes counts as
    /// estimates of all requests, each logged one standing for 100 / rate.
    #[serde(default = "all_requests")]
    pub sampling_rate: u8,
    /// `[waf.auto_block]` enabled: where and from which level to write strikes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strikes: Option<StrikeSettings>,
}

/// What the analyser needs to record strikes: one item per (client, minute) at or above the
/// level, in the stack's block table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrikeSettings {
    pub table: String,
    pub level: BlockLevel,
    /// Strikes older than the evaluator's window are useless: DynamoDB's TTL deletes them
    /// this many minutes after their minute.
    pub keep_minutes: u32,
}

/// What the evaluator's scheduled run needs to decide and write blocks (the analyser's
/// strikes, the block list's IP sets, the allow list to never block).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoBlockSettings {
    pub table: String,
    pub auto_block: AutoBlock,
    pub allow_list: Vec<String>,
    /// Names of the block list IP sets (IPv4, IPv6), scope CLOUDFRONT; their ids are looked up
    /// by name, so the settings do not depend on when the sets were created.
    pub ip_set_v4: String,
    pub ip_set_v6: String,
}

/// Settings written before the sampling rate was one of them logged every request.
fn all_requests() -> u8 {
    100
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluatorSettings {
    pub stack: String,
    pub namespace: String,
    /// Filled in by the deployer once the distribution exists: CloudFront's own metrics are
    /// keyed by its id, the analyser's by its domain name.
    pub distribution_id: Option<String>,
    pub distribution_domain: Option<String>,
    pub rules: Vec<Rule>,
    /// Set by `deployer stage` while the stack has a staging distribution (cleared by
    /// `promote --discard`): the canary rules compare it with the primary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanarySettings>,
    /// `[waf.auto_block]` (enabled or not: a paused loop still expires entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_block: Option<AutoBlockSettings>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvalidatorSettings {
    pub stack: String,
    pub distribution_id: String,
    pub manuscripts: Manuscripts,
}

/// Settings that can be validated again on the function side.
pub trait FunctionSettings: Serialize + for<'de> Deserialize<'de> {
    fn check(&self) -> Result<(), String>;

    /// The JSON value of [`SETTINGS_VARIABLE`]; fails when it would not fit Lambda's limit.
    fn to_env_value(&self) -> Result<String, ConfigError> {
        let json = serde_json::to_string(self).map_err(|err| settings_error(err.to_string()))?;
        if json.len() + SETTINGS_VARIABLE.len() > ENVIRONMENT_LIMIT_BYTES {
            return Err(settings_error(format!(
                "{} bytes exceed Lambda's 4 KB environment limit; use fewer alarm rules, app headers or allow_list entries",
                json.len()
            )));
        }
        Ok(json)
    }

    /// Parses and re-validates settings from the variable's value.
    fn from_env_value(value: &str) -> Result<Self, ConfigError> {
        let settings: Self =
            serde_json::from_str(value).map_err(|err| settings_error(err.to_string()))?;
        settings.check().map_err(settings_error)?;
        Ok(settings)
    }

    /// Reads the settings from the process environment (at function init).
    fn from_env() -> Result<Self, ConfigError> {
        let value = std::env::var(SETTINGS_VARIABLE)
            .map_err(|_| settings_error(format!("{SETTINGS_VARIABLE} is not set")))?;
        Self::from_env_value(&value)
    }
}

fn settings_error(message: String) -> ConfigError {
    ConfigError::Settings {
        variable: SETTINGS_VARIABLE.to_string(),
        message,
    }
}

impl FunctionSettings for AnalyserSettings {
    fn check(&self) -> Result<(), String> {
        checks::stack_name(&self.stack).map_err(|rule| format!("stack: expected {rule}"))?;
        checks::namespace(&self.namespace).map_err(|rule| format!("namespace: expected {rule}"))?;
        if self.fields.is_empty() {
            return Err("fields: empty".to_string());
        }
        if !(1..=50).contains(&self.top_n) {
            return Err(format!("top_n {} outside 1–50", self.top_n));
        }
        if let Some(strikes) = &self.strikes
            && strikes.table.is_empty()
        {
            return Err("strikes.table: empty".to_string());
        }
        for header in &self.app_headers {
            checks::header_name(header)
                .map_err(|rule| format!("app_headers: \"{header}\": expected {rule}"))?;
        }
        Ok(())
    }
}

impl FunctionSettings for EvaluatorSettings {
    fn check(&self) -> Result<(), String> {
        checks::stack_name(&self.stack).map_err(|rule| format!("stack: expected {rule}"))?;
        checks::namespace(&self.namespace).map_err(|rule| format!("namespace: expected {rule}"))?;
        for rule in &self.rules {
            match (&rule.metric, &rule.expression) {
                (Some(metric), None) if metrics::resolve(metric).is_some() => {}
                (None, Some(expression)) => {
                    Expression::parse(expression)
                        .map_err(|err| format!("rule {}: {err}", rule.name))?;
                }
                _ => {
                    return Err(format!(
                        "rule {}: needs exactly one known metric or expression",
                        rule.name
                    ));
                }
            }
            if !metrics::is_statistic(&rule.statistic)
                || rule.datapoints_to_alarm > rule.evaluation_periods
            {
                return Err(format!("rule {}: bad statistic or M-of-N", rule.name));
            }
        }
        if let Some(canary) = &self.canary {
            let t = &canary.thresholds;
            if canary.staging_domain.is_empty() {
                return Err("canary: staging_domain is empty".to_string());
            }
            if t.evaluation_minutes == 0 || t.datapoints_to_alarm > t.evaluation_minutes {
                return Err("canary: bad evaluation_minutes or datapoints_to_alarm".to_string());
            }
        }
        if let Some(auto) = &self.auto_block {
            let a = &auto.auto_block;
            if a.minutes == 0 || a.minutes > a.window || a.max == 0 || a.expiry_minutes == 0 {
                return Err("auto_block: bad M-of-N, max or expiry".to_string());
            }
            for cidr in &auto.allow_list {
                checks::cidr(cidr)
                    .map_err(|rule| format!("allow_list: \"{cidr}\": expected {rule}"))?;
            }
        }
        Ok(())
    }
}

impl FunctionSettings for InvalidatorSettings {
    fn check(&self) -> Result<(), String> {
        checks::stack_name(&self.stack).map_err(|rule| format!("stack: expected {rule}"))?;
        checks::bucket_name(&self.manuscripts.bucket)
            .map_err(|rule| format!("bucket: expected {rule}"))?;
        if self.distribution_id.is_empty() {
            return Err("distribution_id: empty".to_string());
        }
        if !self.manuscripts.path_prefix.starts_with('/') {
            return Err("path_prefix must start with /".to_string());
        }
        Ok(())
    }
}

impl StackConfig {
    pub fn names(&self) -> naming::Names {
        naming::Names::new(&self.name)
    }

    pub fn analyser_settings(&self) -> AnalyserSettings {
        AnalyserSettings {
            stack: self.name.clone(),
            namespace: self.metrics.namespace.clone(),
            fields: self.logging.fields.clone(),
            top_n: self.metrics.top_n,
            app_headers: self.metrics.app_headers.clone(),
            sampling_rate: self.logging.sampling_rate,
            strikes: self
                .waf
                .as_ref()
                .and_then(|waf| waf.auto_block.as_ref())
                .filter(|auto| auto.enabled)
                .map(|auto| StrikeSettings {
                    table: self.names().block_table(),
                    level: auto.level,
                    keep_minutes: auto.window + 10,
                }),
        }
    }

    /// `None` without `[waf.auto_block]`.
    pub fn auto_block_settings(&self) -> Option<AutoBlockSettings> {
        let waf = self.waf.as_ref()?;
        let auto_block = waf.auto_block.clone()?;
        let names = self.names();
        Some(AutoBlockSettings {
            table: names.block_table(),
            auto_block,
            allow_list: waf.allow_list.clone(),
            ip_set_v4: names.waf_ip_set("block", false),
            ip_set_v6: names.waf_ip_set("block", true),
        })
    }

    pub fn evaluator_settings(
        &self,
        distribution_id: Option<&str>,
        distribution_domain: Option<&str>,
    ) -> EvaluatorSettings {
        EvaluatorSettings {
            stack: self.name.clone(),
            namespace: self.metrics.namespace.clone(),
            distribution_id: distribution_id.map(str::to_string),
            distribution_domain: distribution_domain.map(str::to_string),
            rules: self.alarms.rules.clone(),
            canary: None,
            auto_block: self.auto_block_settings(),
        }
    }

    /// What the evaluator's canary rules need while `staging_domain` serves staged traffic;
    /// `None` when `[staging.canary] enabled = false`.
    pub fn canary_settings(&self, staging_domain: &str) -> Option<CanarySettings> {
        self.staging.canary.enabled.then(|| CanarySettings {
            staging_domain: staging_domain.to_string(),
            thresholds: self.staging.canary.clone(),
        })
    }

    /// `None` when the stack has no manuscripts bucket.
    pub fn invalidator_settings(&self, distribution_id: &str) -> Option<InvalidatorSettings> {
        self.manuscripts
            .as_ref()
            .map(|manuscripts| InvalidatorSettings {
                stack: self.name.clone(),
                distribution_id: distribution_id.to_string(),
                manuscripts: manuscripts.clone(),
            })
    }
}
