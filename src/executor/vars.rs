//! The variables an instruction's words are expanded with.

use super::BuildError;
use crate::span::Span;
use std::collections::HashMap;

/// The most bytes all variables of a scope may hold together (names and
/// values): each word is limited by [`crate::expand::MAX_WORD_BYTES`], this
/// bounds many of them.
pub const MAX_VARS_BYTES: usize = 16 << 20;

/// ENV and ARG values in order of definition (a later definition replaces
/// the value in place). Setting and looking up take constant time, so a
/// Dockerfile with thousands of ENV or ARG lines stays linear.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    pairs: Vec<(String, String)>,
    index: HashMap<String, usize>,
    /// Bytes of names and values held.
    bytes: usize,
}

impl Vars {
    /// Sets `key` to `value`.
    pub fn set(&mut self, key: &str, value: &str) {
        match self.index.get(key) {
            Some(&i) => {
                let slot = &mut self.pairs[i].1;
                self.bytes = self.bytes - slot.len() + value.len();
                *slot = value.to_string();
            }
            None => {
                self.index.insert(key.to_string(), self.pairs.len());
                self.bytes += key.len() + value.len();
                self.pairs.push((key.to_string(), value.to_string()));
            }
        }
    }

    /// Sets `key` to `value` unless all variables would then hold more than
    /// [`MAX_VARS_BYTES`]; the error is about `span`.
    pub(crate) fn set_bounded(
        &mut self,
        span: Span,
        key: &str,
        value: &str,
    ) -> Result<(), BuildError> {
        let old = self.get(key).map_or(key.len(), str::len);
        if self.bytes - old.min(self.bytes) + value.len() > MAX_VARS_BYTES {
            return Err(BuildError::at(
                span,
                format!(
                    "setting {key}: the variables would hold more than {MAX_VARS_BYTES} bytes, the most minibuild allows"
                ),
            ));
        }
        self.set(key, value);
        Ok(())
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
