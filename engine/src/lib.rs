//! The deployment engine's core, free of AWS: a plan's steps form a dependency graph, and
//! [`run`] starts each step as soon as every step it depends on is done, at most `concurrency`
//! at once. A failed step stops what depends on it; steps already running finish, nothing new
//! starts, and the outcome says exactly which steps ran, failed, or never started, so a re-run
//! can resume.
//!
//! Steps are added after the steps they depend on ([`Graph::add`] takes only existing ids), so
//! a graph is acyclic by construction and step ids are a topological order.

use std::future::Future;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use serde::Serialize;

/// A step's place in its graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct StepId(pub usize);

/// One step: a name for people and the steps it waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    pub name: String,
    pub depends_on: Vec<StepId>,
}

/// Steps and their dependencies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Graph {
    nodes: Vec<Node>,
}

impl Graph {
    pub fn new() -> Graph {
        Graph::default()
    }

    /// Adds a step that runs after every step in `depends_on` (all of them already added).
    ///
    /// # Panics
    /// When a dependency is not in the graph yet: the caller's order is wrong, a programming
    /// error that any test of the caller's graph meets.
    pub fn add(&mut self, name: impl Into<String>, depends_on: &[StepId]) -> StepId {
        let id = StepId(self.nodes.len());
        let mut depends_on = depends_on.to_vec();
        depends_on.sort();
        depends_on.dedup();
        assert!(
            depends_on.iter().all(|d| d.0 < id.0),
            "step {id:?} depends on a step added after it"
        );
        self.nodes.push(Node {
            name: name.into(),
            depends_on,
        });
        id
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The step and everything that depends on it, directly or not.
    pub fn dependants(&self, step: StepId) -> Vec<StepId> {
        let mut reached = vec![false; self.nodes.len()];
        if let Some(slot) = reached.get_mut(step.0) {
            *slot = true;
        }
        // Ids are a topological order: one forward pass reaches every dependant.
        for (i, node) in self.nodes.iter().enumerate().skip(step.0 + 1) {
            if node.depends_on.iter().any(|d| reached[d.0]) {
                reached[i] = true;
            }
        }
        reached
            .iter()
            .enumerate()
            .filter(|(i, r)| **r && *i != step.0)
            .map(|(i, _)| StepId(i))
            .collect()
    }

    /// The longest chain of dependent steps when each takes `durations[step]`: the shortest
    /// time any schedule can finish in, and the chain itself.
    pub fn critical_path(&self, durations: &[Duration]) -> (Duration, Vec<StepId>) {
        let mut finish = vec![Duration::ZERO; self.nodes.len()];
        let mut via: Vec<Option<StepId>> = vec![None; self.nodes.len()];
        for (i, node) in self.nodes.iter().enumerate() {
            let start = node
                .depends_on
                .iter()
                .max_by_key(|d| finish[d.0])
                .map(|d| {
                    via[i] = Some(*d);
                    finish[d.0]
                })
                .unwrap_or_default();
            finish[i] = start + durations.get(i).copied().unwrap_or_default();
        }
        let Some((last, total)) = finish.iter().enumerate().max_by_key(|(_, f)| **f) else {
            return (Duration::ZERO, Vec::new());
        };
        let mut chain = vec![StepId(last)];
        while let Some(previous) = chain.last().and_then(|s| via[s.0]) {
            chain.push(previous);
        }
        chain.reverse();
        (*total, chain)
    }
}

/// What became of one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome<E> {
    Done {
        elapsed: Duration,
    },
    Failed {
        error: E,
        elapsed: Duration,
    },
    /// A step it depends on failed.
    Blocked {
        by: StepId,
    },
    /// Another step failed before this one could start, and nothing new starts after a
    /// failure.
    NotStarted,
}

/// What a run did, step by step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome<E> {
    pub steps: Vec<StepOutcome<E>>,
    pub wall: Duration,
}

impl<E> Outcome<E> {
    pub fn succeeded(&self) -> bool {
        self.steps
            .iter()
            .all(|s| matches!(s, StepOutcome::Done { .. }))
    }

    /// How long each step took (zero for steps that did not finish).
    pub fn durations(&self) -> Vec<Duration> {
        self.steps
            .iter()
            .map(|s| match s {
                StepOutcome::Done { elapsed } | StepOutcome::Failed { elapsed, .. } => *elapsed,
                _ => Duration::ZERO,
            })
            .collect()
    }

    /// The failures, in step order.
    pub fn into_errors(self) -> Vec<(StepId, E)> {
        self.steps
            .into_iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                StepOutcome::Failed { error, .. } => Some((StepId(i), error)),
                _ => None,
            })
            .collect()
    }
}

/// Runs every step of `graph` through `start`, each once every step it depends on is done,
/// at most `concurrency` (at least 1) at a time.
pub async fn run<E, F, Fut>(graph: &Graph, concurrency: usize, mut start: F) -> Outcome<E>
where
    F: FnMut(StepId) -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let began = Instant::now();
    let n = graph.nodes.len();
    let mut outcome: Vec<Option<StepOutcome<E>>> = (0..n).map(|_| None).collect();
    let mut started = vec![false; n];
    let mut failed = false;
    let mut running = FuturesUnordered::new();
    loop {
        if !failed {
            for (i, node) in graph.nodes.iter().enumerate() {
                if running.len() >= concurrency.max(1) {
                    break;
                }
                let ready = !started[i]
                    && node
                        .depends_on
                        .iter()
                        .all(|d| matches!(outcome[d.0], Some(StepOutcome::Done { .. })));
                if ready {
                    started[i] = true;
                    let step = start(StepId(i));
                    running.push(async move {
                        let t = Instant::now();
                        let result = step.await;
                        (i, result, t.elapsed())
                    });
                }
            }
        }
        let Some((i, result, elapsed)) = running.next().await else {
            break;
        };
        match result {
            Ok(()) => outcome[i] = Some(StepOutcome::Done { elapsed }),
            Err(error) => {
                failed = true;
                outcome[i] = Some(StepOutcome::Failed { error, elapsed });
                for dependant in graph.dependants(StepId(i)) {
                    if !started[dependant.0] && outcome[dependant.0].is_none() {
                        outcome[dependant.0] = Some(StepOutcome::Blocked { by: StepId(i) });
                    }
                }
            }
        }
    }
    Outcome {
        steps: outcome
            .into_iter()
            .map(|o| o.unwrap_or(StepOutcome::NotStarted))
            .collect(),
        wall: began.elapsed(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// a → c, b → c, c → d; e alone.
    fn diamond() -> Graph {
        let mut g = Graph::new();
        let a = g.add("a", &[]);
        let b = g.add("b", &[]);
        let c = g.add("c", &[a, b]);
        g.add("d", &[c]);
        g.add("e", &[]);
        g
    }

    #[tokio::test]
    async fn every_step_runs_after_its_dependencies() {
        let g = diamond();
        let order = Mutex::new(Vec::new());
        let outcome = run(&g, 8, |id| {
            let order = &order;
            async move {
                tokio::time::sleep(Duration::from_millis(5 * (id.0 as u64 % 2 + 1))).await;
                order.lock().map_err(|_| "poisoned")?.push(id.0);
                Ok::<(), &str>(())
            }
        })
        .await;
        assert!(outcome.succeeded());
        let order = order.into_inner().unwrap_or_default();
        let at = |s: usize| order.iter().position(|x| *x == s).unwrap_or(usize::MAX);
        assert_eq!(order.len(), 5);
        assert!(at(0) < at(2) && at(1) < at(2) && at(2) < at(3));
    }

    #[tokio::test]
    async fn independent_steps_overlap_up_to_the_bound() {
        let mut g = Graph::new();
        for i in 0..6 {
            g.add(format!("s{i}"), &[]);
        }
        let now = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let outcome = run(&g, 4, |_| {
            let (now, most) = (&now, &most);
            async move {
                let current = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(current, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                Ok::<(), ()>(())
            }
        })
        .await;
        assert!(outcome.succeeded());
        assert_eq!(most.load(Ordering::SeqCst), 4);
        // 6 steps of 20 ms, 4 at a time: two rounds, not six.
        assert!(
            outcome.wall < Duration::from_millis(100),
            "{:?}",
            outcome.wall
        );
    }

    #[tokio::test]
    async fn a_failure_blocks_its_dependants_lets_running_steps_finish_and_starts_nothing_new() {
        // a fails at once; b (independent, running) finishes; c and d depend on a.
        let mut g = Graph::new();
        let a = g.add("a", &[]);
        let b = g.add("b", &[]);
        let c = g.add("c", &[a]);
        g.add("d", &[c]);
        let after_b = g.add("after-b", &[b]);
        let outcome = run(&g, 2, |id| async move {
            match id.0 {
                0 => Err(format!("step {} failed", id.0)),
                _ => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    Ok(())
                }
            }
        })
        .await;
        assert!(!outcome.succeeded());
        assert!(matches!(outcome.steps[b.0], StepOutcome::Done { .. }));
        assert_eq!(outcome.steps[c.0], StepOutcome::Blocked { by: a });
        assert_eq!(outcome.steps[3], StepOutcome::Blocked { by: a });
        assert_eq!(outcome.steps[after_b.0], StepOutcome::NotStarted);
        assert_eq!(
            outcome.into_errors(),
            vec![(a, "step 0 failed".to_string())]
        );
    }

    #[tokio::test]
    async fn an_empty_graph_finishes_at_once() {
        let outcome = run(&Graph::new(), 8, |_| async { Ok::<(), ()>(()) }).await;
        assert!(outcome.succeeded() && outcome.steps.is_empty());
    }

    #[test]
    fn the_critical_path_is_the_longest_dependent_chain() {
        let g = diamond();
        let ms = Duration::from_millis;
        // a 10, b 30, c 5, d 5, e 35: b → c → d (40) beats e (35).
        let (total, chain) = g.critical_path(&[ms(10), ms(30), ms(5), ms(5), ms(35)]);
        assert_eq!(total, ms(40));
        assert_eq!(chain, vec![StepId(1), StepId(2), StepId(3)]);
        assert_eq!(Graph::new().critical_path(&[]), (Duration::ZERO, vec![]));
    }

    #[test]
    fn dependants_are_transitive() {
        let g = diamond();
        assert_eq!(g.dependants(StepId(0)), vec![StepId(2), StepId(3)]);
        assert_eq!(g.dependants(StepId(4)), vec![]);
    }

    #[test]
    #[should_panic(expected = "depends on a step added after it")]
    fn a_dependency_on_a_later_step_is_refused() {
        let mut g = Graph::new();
        g.add("a", &[StepId(3)]);
    }
}
