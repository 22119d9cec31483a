//! Client anomaly scoring within one batch.
//!
//! What the data can show: how many requests a client IP sent compared with the other
//! clients of the same distribution in the batch, and how many of them failed (4xx/5xx)
//! compared with those other clients. The score is an outlier measure on those two numbers,
//! nothing more; it does not identify attacks, bots or intent.
//!
//! Each client is compared with the *other* clients (leave-one-out), so a client that
//! dominates a batch cannot hide by inflating the averages it is measured against:
//! - `volume_z` = (client requests − others' mean) / max(others' standard deviation,
//!   √(others' mean), 1) — request counts are roughly Poisson, so √mean is the least noise
//!   to expect;
//! - `error_excess` = client error ratio − others' error ratio (−1..1);
//! - `score` = max(volume_z, 0) + 10 × max(error_excess, 0).
//!
//! Levels: LOW below 3, MEDIUM from 3, HIGH from 6, CRITICAL from 10. A client with fewer
//! than [`MIN_REQUESTS`] requests in the batch stays LOW: too few samples to say anything.

use serde::Serialize;

pub const MIN_REQUESTS: u64 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ThreatLevel {
    Low,
    Medium,
    High,
    Critical,
}

impl ThreatLevel {
    pub const ALL: [ThreatLevel; 4] = [
        ThreatLevel::Low,
        ThreatLevel::Medium,
        ThreatLevel::High,
        ThreatLevel::Critical,
    ];

    pub fn from_score(score: f64, requests: u64) -> ThreatLevel {
        if requests < MIN_REQUESTS || score < 3.0 {
            ThreatLevel::Low
        } else if score < 6.0 {
            ThreatLevel::Medium
        } else if score < 10.0 {
            ThreatLevel::High
        } else {
            ThreatLevel::Critical
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ThreatLevel::Low => "LOW",
            ThreatLevel::Medium => "MEDIUM",
            ThreatLevel::High => "HIGH",
            ThreatLevel::Critical => "CRITICAL",
        }
    }
}

/// What one client did in the batch.
#[derive(Debug, Clone, Default)]
pub struct ClientActivity<'a> {
    pub requests: u64,
    pub errors: u64,
    pub country: Option<&'a str>,
    pub asn: Option<&'a str>,
}

/// One scored client, as logged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Offender {
    pub ip: String,
    pub country: Option<String>,
    pub asn: Option<String>,
    pub requests: u64,
    pub error_ratio: f64,
    pub score: f64,
    pub level: ThreatLevel,
}

/// One client's score, borrowing from the batch (no allocation per client).
#[derive(Debug, Clone, Copy)]
struct Scored<'c> {
    ip: &'c str,
    activity: &'c ClientActivity<'c>,
    error_ratio: f64,
    score: f64,
    level: ThreatLevel,
}

impl Scored<'_> {
    fn offender(&self) -> Offender {
        Offender {
            ip: self.ip.to_string(),
            country: self.activity.country.map(str::to_string),
            asn: self.activity.asn.map(str::to_string),
            requests: self.activity.requests,
            error_ratio: self.error_ratio,
            score: self.score,
            level: self.level,
        }
    }
}

/// Highest score first, then by IP so the order is reproducible.
fn by_rank(a: &Scored<'_>, b: &Scored<'_>) -> std::cmp::Ordering {
    b.score.total_cmp(&a.score).then_with(|| a.ip.cmp(b.ip))
}

/// A client IP and what it did.
pub type Client<'c> = (&'c str, &'c ClientActivity<'c>);

/// The batch-wide sums every client's leave-one-out score is computed from.
struct Totals {
    clients: f64,
    requests: f64,
    errors: f64,
    squares: f64,
}

impl Totals {
    fn of<'c>(clients: impl Iterator<Item = Client<'c>> + Clone) -> Totals {
        Totals {
            clients: clients.clone().count() as f64,
            requests: clients.clone().map(|(_, c)| c.requests as f64).sum(),
            errors: clients.clone().map(|(_, c)| c.errors as f64).sum(),
            squares: clients.map(|(_, c)| (c.requests as f64).powi(2)).sum(),
        }
    }

    fn score<'c>(&self, ip: &'c str, c: &'c ClientActivity<'c>) -> Scored<'c> {
        let requests = c.requests as f64;
        let (volume_z, others_error_ratio) = if self.clients > 1.0 {
            let others = self.clients - 1.0;
            let mean = (self.requests - requests) / others;
            let variance = ((self.squares - requests * requests) / others - mean * mean).max(0.0);
            let noise = variance.sqrt().max(mean.sqrt()).max(1.0);
            let others_requests = self.requests - requests;
            let ratio = if others_requests > 0.0 {
                (self.errors - c.errors as f64) / others_requests
            } else {
                0.0
            };
            ((requests - mean) / noise, ratio)
        } else {
            (0.0, 0.0)
        };
        let error_ratio = if c.requests == 0 {
            0.0
        } else {
            c.errors as f64 / requests
        };
        let score = volume_z.max(0.0) + 10.0 * (error_ratio - others_error_ratio).max(0.0);
        Scored {
            ip,
            activity: c,
            error_ratio,
            score: (score * 100.0).round() / 100.0,
            level: ThreatLevel::from_score(score, c.requests),
        }
    }
}

/// Scores every client of one distribution (each IP once); highest score first.
pub fn score_clients<'c>(clients: impl Iterator<Item = Client<'c>> + Clone) -> Vec<Offender> {
    let totals = Totals::of(clients.clone());
    let mut scored: Vec<Scored<'_>> = clients.map(|(ip, c)| totals.score(ip, c)).collect();
    scored.sort_by(by_rank);
    scored.iter().map(Scored::offender).collect()
}

/// What a batch publishes and logs about one distribution's clients.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientScores {
    /// Clients per level, in [`ThreatLevel::ALL`] order.
    pub by_level: [usize; 4],
    /// The `top` highest scores, highest first (as [`score_clients`] orders them).
    pub top: Vec<Offender>,
}

/// [`score_clients`] reduced to the level counts and the `top` highest scores, in one pass
/// that keeps only those few (sorted): a batch has thousands of clients, most of them tied
/// at the same score, and selecting among all of them compared their IPs again and again
/// (~4 % of the handler). A client is compared with the kept ones only when it ranks above
/// the lowest of them.
pub fn summarise_clients<'c>(
    clients: impl Iterator<Item = Client<'c>> + Clone,
    top: usize,
) -> ClientScores {
    let totals = Totals::of(clients.clone());
    let mut by_level = [0; 4];
    let mut kept: Vec<Scored<'_>> = Vec::with_capacity(top + 1);
    for (ip, c) in clients {
        let client = totals.score(ip, c);
        by_level[client.level as usize] += 1;
        let ranks_in = match kept.last() {
            _ if top == 0 => false,
            Some(lowest) if kept.len() == top => by_rank(&client, lowest).is_lt(),
            _ => true,
        };
        if ranks_in {
            let at = kept.partition_point(|k| by_rank(k, &client).is_lt());
            kept.insert(at, client);
            kept.truncate(top);
        }
    }
    ClientScores {
        by_level,
        top: kept.iter().map(Scored::offender).collect(),
    }
}

/// Every client scored at or above `level`, highest first, at most `limit` of them (the
/// strikes of `[waf.auto_block]`; a second pass over the clients, made only when it is on).
pub fn at_or_above<'c>(
    clients: impl Iterator<Item = Client<'c>> + Clone,
    level: ThreatLevel,
    limit: usize,
) -> Vec<Offender> {
    let totals = Totals::of(clients.clone());
    let mut flagged: Vec<Scored<'_>> = clients
        .map(|(ip, c)| totals.score(ip, c))
        .filter(|client| client.level >= level)
        .collect();
    flagged.sort_by(by_rank);
    flagged.truncate(limit);
    flagged.iter().map(Scored::offender).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn at_or_above_keeps_exactly_the_clients_of_that_level_and_up() {
        let mut clients = HashMap::new();
        let ips: Vec<String> = (0..50).map(|i| format!("10.0.0.{i}")).collect();
        for ip in &ips {
            clients.insert(ip.as_str(), activity(10, 0));
        }
        clients.insert("203.0.113.9", activity(200, 180));
        let all = score_clients(each(&clients));
        for level in ThreatLevel::ALL {
            let flagged = at_or_above(each(&clients), level, 1000);
            let expected: Vec<&Offender> = all.iter().filter(|o| o.level >= level).collect();
            assert_eq!(flagged.iter().collect::<Vec<_>>(), expected, "{level:?}");
        }
        let critical = at_or_above(each(&clients), ThreatLevel::Critical, 1000);
        assert_eq!(critical.len(), 1);
        assert_eq!(critical[0].ip, "203.0.113.9");
        assert!(at_or_above(each(&clients), ThreatLevel::Low, 3).len() == 3);
    }

    fn each<'c>(
        clients: &'c HashMap<&'c str, ClientActivity<'c>>,
    ) -> impl Iterator<Item = Client<'c>> + Clone {
        clients.iter().map(|(ip, c)| (*ip, c))
    }

    fn activity(requests: u64, errors: u64) -> ClientActivity<'static> {
        ClientActivity {
            requests,
            errors,
            country: Some("DE"),
            asn: None,
        }
    }

    #[test]
    fn the_summary_agrees_with_scoring_every_client() {
        let mut clients = HashMap::new();
        let ips: Vec<String> = (0..200)
            .map(|i| format!("10.0.{}.{}", i / 50, i % 50))
            .collect();
        for (i, ip) in ips.iter().enumerate() {
            clients.insert(
                ip.as_str(),
                activity(5 + (i as u64 * 7) % 40, (i as u64 * 3) % 6),
            );
        }
        let all = score_clients(each(&clients));
        let summary = summarise_clients(each(&clients), 5);
        assert_eq!(summary.top, all[..5].to_vec());
        for level in ThreatLevel::ALL {
            assert_eq!(
                summary.by_level[level as usize],
                all.iter().filter(|o| o.level == level).count()
            );
        }
        assert_eq!(summary.by_level.iter().sum::<usize>(), 200);
        assert!(summarise_clients(each(&clients), 0).top.is_empty());
    }

    proptest::proptest! {
        /// Whatever the clients (ties included) and however many are kept, the one-pass
        /// summary keeps exactly the head of the full ranking and counts every level.
        #[test]
        fn the_summary_is_the_head_of_the_full_ranking(
            activities in proptest::collection::vec((0u64..30, 0u64..30), 0..60),
            top in 0usize..8,
        ) {
            let ips: Vec<String> = (0..activities.len()).map(|i| format!("10.0.0.{i}")).collect();
            let clients: HashMap<&str, ClientActivity<'static>> = ips
                .iter()
                .zip(&activities)
                .map(|(ip, (requests, errors))| (ip.as_str(), activity(*requests, *errors.min(requests))))
                .collect();
            let all = score_clients(each(&clients));
            let summary = summarise_clients(each(&clients), top);
            proptest::prop_assert_eq!(&summary.top[..], &all[..top.min(all.len())]);
            for level in ThreatLevel::ALL {
                proptest::prop_assert_eq!(
                    summary.by_level[level as usize],
                    all.iter().filter(|o| o.level == level).count()
                );
            }
        }
    }

    #[test]
    fn a_noisy_failing_client_stands_out() {
        let mut clients = HashMap::new();
        for i in 0..20 {
            clients.insert(
                [
                    "10.0.0.1",
                    "10.0.0.2",
                    "10.0.0.3",
                    "10.0.0.4",
                    "10.0.0.5",
                    "10.0.0.6",
                    "10.0.0.7",
                    "10.0.0.8",
                    "10.0.0.9",
                    "10.0.0.10",
                    "10.0.0.11",
                    "10.0.0.12",
                    "10.0.0.13",
                    "10.0.0.14",
                    "10.0.0.15",
                    "10.0.0.16",
                    "10.0.0.17",
                    "10.0.0.18",
                    "10.0.0.19",
                    "10.0.0.20",
                ][i],
                activity(5, 0),
            );
        }
        clients.insert("203.0.113.9", activity(200, 190));
        let scored = score_clients(each(&clients));
        assert_eq!(scored[0].ip, "203.0.113.9");
        assert_eq!(scored[0].level, ThreatLevel::Critical);
        assert!(scored[1..].iter().all(|o| o.level == ThreatLevel::Low));
    }

    #[test]
    fn thresholds_and_the_minimum_sample() {
        assert_eq!(ThreatLevel::from_score(2.99, 100), ThreatLevel::Low);
        assert_eq!(ThreatLevel::from_score(3.0, 100), ThreatLevel::Medium);
        assert_eq!(ThreatLevel::from_score(6.0, 100), ThreatLevel::High);
        assert_eq!(ThreatLevel::from_score(10.0, 100), ThreatLevel::Critical);
        assert_eq!(
            ThreatLevel::from_score(50.0, MIN_REQUESTS - 1),
            ThreatLevel::Low
        );
    }

    #[test]
    fn a_modest_excess_over_quiet_peers_is_medium_not_critical() {
        let mut clients = HashMap::new();
        for ip in ["a", "b", "c", "d", "e", "f", "g", "h"] {
            clients.insert(ip, activity(5, 0));
        }
        clients.insert("busy", activity(14, 0));
        let scored = score_clients(each(&clients));
        assert_eq!(scored[0].ip, "busy");
        // (14 - 5) / sqrt(5) = 4.02
        assert_eq!(scored[0].score, 4.02);
        assert_eq!(scored[0].level, ThreatLevel::Medium);
    }

    #[test]
    fn equal_clients_score_zero() {
        let mut clients = HashMap::new();
        clients.insert("a", activity(10, 1));
        clients.insert("b", activity(10, 1));
        assert!(score_clients(each(&clients)).iter().all(|o| o.score == 0.0));
    }
}
