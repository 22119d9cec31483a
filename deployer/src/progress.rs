//! What a long run tells the user while it works: one line per change made, and a spinner
//! with elapsed time and the current status during waits. Everything goes to stderr so
//! `--output json` on stdout stays parseable; spinners only when stderr is a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

#[derive(Debug, Clone)]
pub struct Progress {
    /// Print step lines at all.
    enabled: bool,
    /// Draw spinners (stderr is a terminal).
    animated: bool,
}

impl Progress {
    pub fn new(enabled: bool) -> Progress {
        Progress {
            enabled,
            animated: enabled && std::io::stderr().is_terminal(),
        }
    }

    pub fn silent() -> Progress {
        Progress {
            enabled: false,
            animated: false,
        }
    }

    pub fn step(&self, message: &str) {
        if self.enabled {
            eprintln!("  {message}");
        }
    }

    /// A spinner for a wait; `set` updates the status shown beside it.
    pub fn wait(&self, what: &str) -> Wait {
        if !self.animated {
            self.step(&format!("waiting for {what}"));
            return Wait { bar: None };
        }
        let bar = ProgressBar::new_spinner();
        // The template is a constant; a bad one would be a programming error caught by tests.
        if let Ok(style) = ProgressStyle::with_template("  {spinner} [{elapsed_precise}] {msg}") {
            bar.set_style(style);
        }
        bar.set_message(what.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        Wait { bar: Some(bar) }
    }
}

pub struct Wait {
    bar: Option<ProgressBar>,
}

impl Wait {
    pub fn set(&self, status: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(status.to_string());
        }
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
