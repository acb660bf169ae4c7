//! Expanding an instruction's words with the stage's variables, within
//! the limits that keep a small Dockerfile from growing without bound.

use super::{BuildError, Builder, Vars, MAX_EXPANDED_BYTES};
use crate::expand::Lexer;
use crate::span::Span;

impl<'a> Builder<'a> {
    /// Expands one word (quotes removed, variables substituted).
    pub(crate) fn expand_word(
        &self,
        span: Span,
        word: &str,
        vars: &Vars,
    ) -> Result<String, BuildError> {
        let out = self.lexer.process_word(word, vars).map_err(|e| {
            let word = crate::expand::quoted_for_message(word);
            BuildError::at(span, format!("expanding {word}")).caused(e)
        })?;
        self.spend(span, out.len())?;
        Ok(out)
    }

    /// Expands and splits a word list, as BuildKit's ProcessWords does.
    pub(crate) fn expand_words(
        &self,
        span: Span,
        word: &str,
        vars: &Vars,
    ) -> Result<Vec<String>, BuildError> {
        let out = self.lexer.process_words(word, vars).map_err(|e| {
            let word = crate::expand::quoted_for_message(word);
            BuildError::at(span, format!("expanding {word}")).caused(e)
        })?;
        self.spend(span, out.iter().map(String::len).sum())?;
        Ok(out)
    }

    /// Expands a heredoc body as BuildKit does: variables are substituted,
    /// quotes are left as written.
    pub(crate) fn expand_heredoc(
        &self,
        span: Span,
        text: &str,
        vars: &Vars,
    ) -> Result<String, BuildError> {
        let body = Lexer::new('\\')
            .skip_process_quotes(true)
            .word_limit(crate::syntax::MAX_DOCKERFILE_BYTES as usize)
            .process_word(text, vars)
            .map_err(|e| BuildError::at(span, "expanding the heredoc").caused(e))?;
        self.spend(span, body.len())?;
        Ok(body)
    }

    /// Counts `bytes` more of expanded text against [`MAX_EXPANDED_BYTES`].
    fn spend(&self, span: Span, bytes: usize) -> Result<(), BuildError> {
        let total = self.expanded.get().saturating_add(bytes);
        self.expanded.set(total);
        if total > MAX_EXPANDED_BYTES {
            return Err(BuildError::at(
                span,
                format!("the words of this Dockerfile expand to more than {MAX_EXPANDED_BYTES} bytes in all, the most minibuild allows"),
            ));
        }
        Ok(())
    }
}
