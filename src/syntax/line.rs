//! A logical line: the physical lines of one instruction joined at their
//! continuations, with a map from the joined text back to source offsets.

use crate::span::Span;

/// One piece of the joined text, copied from the source.
#[derive(Debug, Clone, Copy)]
struct Piece {
    /// Offset in the joined text.
    joined: usize,
    /// Offset in the source.
    src: usize,
    /// Length in bytes.
    len: usize,
}

/// The joined text of an instruction and where each byte came from.
#[derive(Debug, Clone, Default)]
pub(crate) struct Logical {
    /// The joined text (continuation characters and dropped lines removed).
    pub(crate) text: String,
    pieces: Vec<Piece>,
}

impl Logical {
    /// Appends `text`, which was read at source offset `src`.
    pub(crate) fn push(&mut self, text: &str, src: usize) {
        if text.is_empty() {
            return;
        }
        self.pieces.push(Piece {
            joined: self.text.len(),
            src,
            len: text.len(),
        });
        self.text.push_str(text);
    }

    /// The source offset of joined offset `at`, taken as a start: at a
    /// boundary between two pieces, the start of the later one.
    fn src_start(&self, at: usize) -> usize {
        for p in &self.pieces {
            if at < p.joined + p.len {
                return p.src + at.saturating_sub(p.joined);
            }
        }
        self.pieces.last().map(|p| p.src + p.len).unwrap_or(0)
    }

    /// The source offset of joined offset `at`, taken as an end: at a
    /// boundary between two pieces, the end of the earlier one.
    fn src_end(&self, at: usize) -> usize {
        for p in &self.pieces {
            if at <= p.joined + p.len {
                return p.src + at.saturating_sub(p.joined);
            }
        }
        self.pieces.last().map(|p| p.src + p.len).unwrap_or(0)
    }

    /// The source span of the joined range `start..end`.
    pub(crate) fn span(&self, start: usize, end: usize) -> Span {
        if start >= end {
            let at = self.src_start(start);
            return Span::new(at, at);
        }
        Span::new(self.src_start(start), self.src_end(end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_map_across_pieces() {
        let src = "RUN a \\\n  b\n";
        let mut l = Logical::default();
        l.push("RUN a ", 0);
        l.push("  b", 8);
        assert_eq!(l.text, "RUN a   b");
        // "a   b" starts at 4 in both texts and ends after `b` in the source.
        let s = l.span(4, 9);
        assert_eq!(&src[s.start..s.end], "a \\\n  b");
        // A range that ends exactly at a piece boundary stays on its line.
        let s = l.span(0, 6);
        assert_eq!(&src[s.start..s.end], "RUN a ");
        // And one that starts there begins on the next line.
        let s = l.span(6, 9);
        assert_eq!(&src[s.start..s.end], "  b");
    }
}
