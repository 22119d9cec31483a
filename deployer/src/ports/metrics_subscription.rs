//! CloudFront monitoring subscriptions: whether a distribution publishes CloudFront's
//! additional CloudWatch metrics (CacheHitRate, OriginLatency, the 401/403/404/502/503/504
//! error rates). One subscription per distribution, created and deleted whole; CloudFront
//! answers `MonitoringSubscriptionAlreadyExists` to a second create, so a change of status is
//! a delete and a create.

use aws_sdk_cloudfront::types::{
    MonitoringSubscription, RealtimeMetricsSubscriptionConfig, RealtimeMetricsSubscriptionStatus,
};

use super::fake::{FakeAccount, refused};
use super::{PortFuture, gone_is_fine};
use crate::error::DeployError;
use crate::resources::found;

/// The monitoring subscriptions of distributions, by distribution id.
pub trait MetricsSubscriptions: Send + Sync {
    /// Whether the distribution's subscription is `Enabled`, or None when it has none.
    fn subscription<'a>(&'a self, distribution_id: &'a str) -> PortFuture<'a, Option<bool>>;
    /// Creates the distribution's subscription with status Enabled or Disabled.
    fn create_subscription<'a>(
        &'a self,
        distribution_id: &'a str,
        enabled: bool,
    ) -> PortFuture<'a, ()>;
    /// Deletes the distribution's subscription; one already gone is not an error.
    fn delete_subscription<'a>(&'a self, distribution_id: &'a str) -> PortFuture<'a, ()>;
}

pub struct SdkMetricsSubscriptions(pub aws_sdk_cloudfront::Client);

impl MetricsSubscriptions for SdkMetricsSubscriptions {
    fn subscription<'a>(&'a self, distribution_id: &'a str) -> PortFuture<'a, Option<bool>> {
        Box::pin(async move {
            let out = found(
                self.0
                    .get_monitoring_subscription()
                    .distribution_id(distribution_id)
                    .send()
                    .await,
                |e| e.is_no_such_monitoring_subscription(),
                "cloudfront:GetMonitoringSubscription",
                distribution_id,
            )?;
            Ok(out.map(|out| {
                out.monitoring_subscription()
                    .and_then(|s| s.realtime_metrics_subscription_config())
                    .is_some_and(|c| {
                        c.realtime_metrics_subscription_status()
                            == &RealtimeMetricsSubscriptionStatus::Enabled
                    })
            }))
        })
    }

    fn create_subscription<'a>(
        &'a self,
        distribution_id: &'a str,
        enabled: bool,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            const OPERATION: &str = "cloudfront:CreateMonitoringSubscription";
            let status = if enabled {
                RealtimeMetricsSubscriptionStatus::Enabled
            } else {
                RealtimeMetricsSubscriptionStatus::Disabled
            };
            let config = RealtimeMetricsSubscriptionConfig::builder()
                .realtime_metrics_subscription_status(status)
                .build()
                .map_err(|e| DeployError::state(distribution_id, e.to_string()))?;
            self.0
                .create_monitoring_subscription()
                .distribution_id(distribution_id)
                .monitoring_subscription(
                    MonitoringSubscription::builder()
                        .realtime_metrics_subscription_config(config)
                        .build(),
                )
                .send()
                .await
                .map_err(|e| DeployError::aws(OPERATION, distribution_id, e))?;
            Ok(())
        })
    }

    fn delete_subscription<'a>(&'a self, distribution_id: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            gone_is_fine(
                self.0
                    .delete_monitoring_subscription()
                    .distribution_id(distribution_id)
                    .send()
                    .await,
                |e| e.is_no_such_monitoring_subscription(),
                "cloudfront:DeleteMonitoringSubscription",
                distribution_id,
            )
        })
    }
}

// ------------------------------------------------------------------ the fake

/// The fake account's monitoring subscriptions: distribution id → status Enabled.
#[derive(Default)]
pub struct FakeSubscriptions {
    by_distribution: std::collections::BTreeMap<String, bool>,
}

fn no_such_distribution(operation: &str, id: &str) -> DeployError {
    refused(
        operation,
        id,
        "NoSuchDistribution: The specified distribution does not exist.",
    )
}

impl FakeAccount {
    /// The distribution's subscription as the fake holds it: Some(enabled), or None.
    pub fn metrics_subscription(&self, distribution_id: &str) -> Option<bool> {
        self.state()
            .subscriptions
            .by_distribution
            .get(distribution_id)
            .copied()
    }

    /// CloudFront answers NoSuchDistribution for a distribution that does not exist.
    fn check_distribution(&self, operation: &str, id: &str) -> Result<(), DeployError> {
        match self.distribution(id) {
            Some(_) => Ok(()),
            None => Err(no_such_distribution(operation, id)),
        }
    }
}

impl MetricsSubscriptions for FakeAccount {
    fn subscription<'a>(&'a self, distribution_id: &'a str) -> PortFuture<'a, Option<bool>> {
        Box::pin(async move {
            const OPERATION: &str = "cloudfront:GetMonitoringSubscription";
            self.call(OPERATION, distribution_id)?;
            self.check_distribution(OPERATION, distribution_id)?;
            Ok(self.metrics_subscription(distribution_id))
        })
    }

    fn create_subscription<'a>(
        &'a self,
        distribution_id: &'a str,
        enabled: bool,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            const OPERATION: &str = "cloudfront:CreateMonitoringSubscription";
            self.call(OPERATION, distribution_id)?;
            self.check_distribution(OPERATION, distribution_id)?;
            let mut state = self.state();
            if state
                .subscriptions
                .by_distribution
                .contains_key(distribution_id)
            {
                return Err(refused(
                    OPERATION,
                    distribution_id,
                    "MonitoringSubscriptionAlreadyExists: A monitoring subscription already exists for the specified distribution.",
                ));
            }
            state
                .subscriptions
                .by_distribution
                .insert(distribution_id.to_string(), enabled);
            Ok(())
        })
    }

    fn delete_subscription<'a>(&'a self, distribution_id: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            const OPERATION: &str = "cloudfront:DeleteMonitoringSubscription";
            self.call(OPERATION, distribution_id)?;
            self.check_distribution(OPERATION, distribution_id)?;
            self.state()
                .subscriptions
                .by_distribution
                .remove(distribution_id);
            Ok(())
        })
    }
}
