//! The variables an instruction's words are expanded with.

use std::collections::HashMap;

/// ENV and ARG values in order of definition (a later definition replaces
/// the value in place). Setting and looking up take constant time, so a
/// Dockerfile with thousands of ENV or ARG lines stays linear.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    pairs: Vec<(String, String)>,
    index: HashMap<String, usize>,
}

impl Vars {
    /// Sets `key` to `value`.
    pub fn set(&mut self, key: &str, value: &str) {
        match self.index.get(key) {
            Some(&i) => self.pairs[i].1 = value.to_string(),
            None => {
                self.index.insert(key.to_string(), self.pairs.len());
                self.pairs.push((key.to_string(), value.to_string()));
            }
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.index.get(key).map(|&i| self.pairs[i].1.as_str())
    }

    /// Every variable, in order of first definition.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

impl crate::expand::Vars for Vars {
    fn lookup(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_definition_replaces_in_place() {
        let mut v = Vars::default();
        v.set("A", "1");
        v.set("B", "2");
        v.set("A", "3");
        assert_eq!(v.get("A"), Some("3"));
        assert_eq!(v.get("C"), None);
        let keys: Vec<&str> = v.pairs().iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["A", "B"]);
    }
}
