//! Byte spans into the Dockerfile source, and the line/column they map to.
//!
//! Parsing keeps only byte offsets; lines and columns are computed when an
//! error is shown (see [`crate::error`]).

/// A half-open byte range `start..end` into a source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The 1-based line and column (in characters) of `self.start` in `src`.
    pub fn line_col(&self, src: &str) -> (usize, usize) {
        let start = self.start.min(src.len());
        let before = &src[..floor_char_boundary(src, start)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }

    /// The 1-based line of `self.end` (the last byte of the span) in `src`.
    pub fn end_line(&self, src: &str) -> usize {
        let end = self.end.max(self.start + 1).min(src.len());
        let before = &src[..floor_char_boundary(src, end.saturating_sub(1))];
        before.matches('\n').count() + 1
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A value with the span of source text it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    /// Where the value was written.
    pub span: Span,
    /// The value.
    pub value: T,
}

impl<T> Spanned<T> {
    /// Wraps `value` read from `span`.
    pub fn new(span: Span, value: T) -> Self {
        Spanned { span, value }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column() {
        let src = "FROM scratch\nCOPY é x /\n";
        assert_eq!(Span::new(0, 4).line_col(src), (1, 1));
        let at_x = src.find('x').unwrap();
        assert_eq!(Span::new(at_x, at_x + 1).line_col(src), (2, 8));
        assert_eq!(Span::new(13, src.len()).end_line(src), 2);
    }
}
