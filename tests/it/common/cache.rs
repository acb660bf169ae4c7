//! Helpers for the build cache's tests: a build whose steps are read from
//! its rawjson events (hit or miss, and why).

use super::{minibuild, stderr, Work};
use serde_json::Value;
use std::path::Path;

/// One layer step of a build as the cache saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheStep {
    /// The instruction's text.
    pub text: String,
    /// `CACHED`.
    pub hit: bool,
    /// Why it missed, when said.
    pub miss: Option<String>,
}

/// A build's result: the image digest, the layer steps, the warnings.
#[derive(Debug)]
pub struct Built {
    pub digest: String,
    pub steps: Vec<CacheStep>,
    pub warnings: Vec<String>,
}

impl Built {
    /// Which layer steps hit, in order.
    pub fn hits(&self) -> Vec<bool> {
        self.steps.iter().map(|s| s.hit).collect()
    }

    /// The first step that missed.
    pub fn first_miss(&self) -> &CacheStep {
        self.steps
            .iter()
            .find(|s| !s.hit)
            .unwrap_or_else(|| panic!("no step missed: {:?}", self.steps))
    }
}

/// Builds `ctx` into `store` with SOURCE_DATE_EPOCH=0 and `extra` flags.
pub fn build_in(w: &Work, store: &Path, ctx: &Path, extra: &[&str]) -> Built {
    let o = minibuild()
        .args(["build", "--progress", "rawjson", "--format", "json"])
        .args(extra)
        .arg(ctx)
        .env("MINIBUILD_STORE", store)
        .env("SOURCE_DATE_EPOCH", "0")
        .current_dir(w.dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "build failed: {}", stderr(&o));
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut steps = Vec::new();
    let mut warnings = Vec::new();
    for line in String::from_utf8_lossy(&o.stderr).lines() {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        match event["event"].as_str() {
            Some("step_finished") if !event["result"]["cache"].is_null() => {
                let cache = &event["result"]["cache"];
                steps.push(CacheStep {
                    text: event["text"].as_str().unwrap_or_default().to_string(),
                    hit: cache["hit"].as_bool().unwrap(),
                    miss: cache["miss"].as_str().map(str::to_string),
                });
            }
            Some("warning") => warnings.push(event["message"].as_str().unwrap().to_string()),
            _ => {}
        }
    }
    Built {
        digest: out["digest"].as_str().unwrap().to_string(),
        steps,
        warnings,
    }
}
