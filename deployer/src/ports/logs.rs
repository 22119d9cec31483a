//! CloudWatch Logs log groups: the port, its SDK adapter and the fake account's log groups.

use std::collections::BTreeMap;

use super::fake::{FakeAccount, refused};
use super::{PortFuture, gone_is_fine};
use crate::error::DeployError;

/// A log group as CloudWatch Logs describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogGroup {
    /// None when its events never expire.
    pub retention_days: Option<i32>,
}

/// CloudWatch Logs log groups, by name.
pub trait LogGroups: Send + Sync {
    /// The log group, or None when no log group has that name.
    fn log_group<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<LogGroup>>;
    /// Creates the log group; one that already exists is not an error (Lambda creates its
    /// function's group itself the first time the function logs, and may have done so since
    /// the group was read), and is left as it is.
    fn create<'a>(&'a self, name: &'a str, tags: Vec<(String, String)>) -> PortFuture<'a, ()>;
    fn put_retention<'a>(&'a self, name: &'a str, days: i32) -> PortFuture<'a, ()>;
    /// Deletes the log group; one already gone is not an error.
    fn delete<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()>;
}

/// CloudWatch Logs through `aws-sdk-cloudwatchlogs`.
pub struct SdkLogGroups(pub aws_sdk_cloudwatchlogs::Client);

impl LogGroups for SdkLogGroups {
    fn log_group<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<LogGroup>> {
        Box::pin(async move {
            // There is no call that reads one group by name: the groups named with it as a
            // prefix, then the one named exactly so.
            let out = self
                .0
                .describe_log_groups()
                .log_group_name_prefix(name)
                .send()
                .await
                .map_err(|e| DeployError::aws("logs:DescribeLogGroups", name, e))?;
            Ok(out
                .log_groups()
                .iter()
                .find(|g| g.log_group_name() == Some(name))
                .map(|g| LogGroup {
                    retention_days: g.retention_in_days(),
                }))
        })
    }

    fn create<'a>(&'a self, name: &'a str, tags: Vec<(String, String)>) -> PortFuture<'a, ()> {
        Box::pin(async move {
            let created = self
                .0
                .create_log_group()
                .log_group_name(name)
                .set_tags(Some(tags.into_iter().collect()))
                .send()
                .await;
            match created {
                Ok(_) => Ok(()),
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_resource_already_exists_exception()) =>
                {
                    Ok(())
                }
                Err(err) => Err(DeployError::aws("logs:CreateLogGroup", name, err)),
            }
        })
    }

    fn put_retention<'a>(&'a self, name: &'a str, days: i32) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .put_retention_policy()
                .log_group_name(name)
                .retention_in_days(days)
                .send()
                .await
                .map_err(|e| DeployError::aws("logs:PutRetentionPolicy", name, e))?;
            Ok(())
        })
    }

    fn delete<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            gone_is_fine(
                self.0.delete_log_group().log_group_name(name).send().await,
                |e| e.is_resource_not_found_exception(),
                "logs:DeleteLogGroup",
                name,
            )
        })
    }
}

/// The fake account's log groups, by name.
pub type FakeLogGroups = BTreeMap<String, FakeLogGroup>;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeLogGroup {
    /// None: never expire.
    pub retention_days: Option<i32>,
    pub tags: Vec<(String, String)>,
}

/// The retention periods CloudWatch Logs accepts, in days.
const RETENTION_DAYS: [i32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

impl FakeAccount {
    pub fn log_group(&self, name: &str) -> Option<FakeLogGroup> {
        self.state().log_groups.get(name).cloned()
    }

    /// Changes a log group behind the deployer's back, as someone in the console would.
    pub fn edit_log_group(&self, name: &str, edit: impl FnOnce(&mut FakeLogGroup)) {
        if let Some(group) = self.state().log_groups.get_mut(name) {
            edit(group);
        }
    }

    /// Creates a log group as Lambda does the first time a function logs: untagged, its
    /// events never expiring.
    pub fn add_log_group(&self, name: &str) {
        self.state().log_groups.entry(name.to_string()).or_default();
    }
}

impl LogGroups for FakeAccount {
    fn log_group<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<LogGroup>> {
        Box::pin(async move {
            self.call("logs:DescribeLogGroups", name)?;
            Ok(self.state().log_groups.get(name).map(|g| LogGroup {
                retention_days: g.retention_days,
            }))
        })
    }

    fn create<'a>(&'a self, name: &'a str, tags: Vec<(String, String)>) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("logs:CreateLogGroup", name)?;
            // CloudWatch Logs refuses an existing name (ResourceAlreadyExistsException) and
            // leaves the group as it is; the port answers that as done.
            self.state()
                .log_groups
                .entry(name.to_string())
                .or_insert(FakeLogGroup {
                    retention_days: None,
                    tags,
                });
            Ok(())
        })
    }

    fn put_retention<'a>(&'a self, name: &'a str, days: i32) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("logs:PutRetentionPolicy", name)?;
            if !RETENTION_DAYS.contains(&days) {
                return Err(refused(
                    "logs:PutRetentionPolicy",
                    name,
                    &format!(
                        "InvalidParameterException: 1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set"
                    ),
                ));
            }
            let mut state = self.state();
            let group = state.log_groups.get_mut(name).ok_or_else(|| {
                refused(
                    "logs:PutRetentionPolicy",
                    name,
                    "ResourceNotFoundException: The specified log group does not exist.",
                )
            })?;
            group.retention_days = Some(days);
            Ok(())
        })
    }

    fn delete<'a>(&'a self, name: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("logs:DeleteLogGroup", name)?;
            self.state().log_groups.remove(name);
            Ok(())
        })
    }
}
