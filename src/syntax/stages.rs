//! The stages of a Dockerfile: the global ARGs before the first FROM, and
//! each FROM with the instructions after it. Which stage a name or index
//! refers to, which stages a target needs, and how many steps they make.
//! Stage bases are named after variable expansion, so the methods that
//! follow FROM take the expanded base of every stage.

use super::ast::{Dockerfile, Instruction, Kind};
use super::parser::ParseError;
use super::typed::edit_distance;
use crate::span::{Span, Spanned};
use std::collections::BTreeSet;

/// One `FROM` and the instructions after it.
#[derive(Debug, Clone)]
pub struct Stage<'a> {
    /// Its index (`COPY --from=0`).
    pub index: usize,
    /// Its name after `AS`, lower-cased (stage names are case-insensitive).
    pub name: Option<Spanned<String>>,
    /// The FROM instruction.
    pub from: &'a Instruction,
    /// The base as written (before expansion).
    pub base: &'a Spanned<String>,
    /// The instructions after FROM.
    pub body: Vec<&'a Instruction>,
}

/// A Dockerfile split into global ARGs and stages.
#[derive(Debug, Clone)]
pub struct Stages<'a> {
    /// ARG instructions before the first FROM.
    pub args: Vec<&'a Instruction>,
    /// The stages, in order.
    pub stages: Vec<Stage<'a>>,
    /// What BuildKit's linter would warn about (a duplicate stage name).
    pub warnings: Vec<(Span, String)>,
}

impl Dockerfile {
    /// Splits the Dockerfile into global ARGs and stages. Only ARG may come
    /// before the first FROM, and there must be one.
    pub fn stages(&self) -> Result<Stages<'_>, ParseError> {
        let mut out = Stages {
            args: Vec::new(),
            stages: Vec::new(),
            warnings: Vec::new(),
        };
        for instr in &self.instructions {
            match &instr.kind {
                Kind::From { image, stage_name } => {
                    let name = stage_name
                        .as_ref()
                        .map(|n| Spanned::new(n.span, n.value.to_ascii_lowercase()));
                    if let Some(n) = &name {
                        if out.by_name(&n.value, out.stages.len()).is_some() {
                            // BuildKit's linter (DuplicateStageName): a later
                            // stage of the same name is the one names refer to
                            out.warnings.push((
                                n.span,
                                format!(
                                    "Duplicate stage name {:?}, stage names should be unique",
                                    n.value
                                ),
                            ));
                        }
                    }
                    out.stages.push(Stage {
                        index: out.stages.len(),
                        name,
                        from: instr,
                        base: image,
                        body: Vec::new(),
                    });
                }
                _ => match out.stages.last_mut() {
                    Some(stage) => stage.body.push(instr),
                    None if matches!(instr.kind, Kind::Arg(_)) => out.args.push(instr),
                    None => {
                        return Err(ParseError::new(
                            instr.keyword.span,
                            format!(
                                "{} before the first FROM: only ARG may come before FROM",
                                instr.keyword.value.to_ascii_uppercase()
                            ),
                        ))
                    }
                },
            }
        }
        if out.stages.is_empty() {
            return Err(ParseError::new(
                Span::new(0, 0),
                "dockerfile contains no stages to build",
            ));
        }
        Ok(out)
    }
}

impl<'a> Stages<'a> {
    /// The last stage named `name` among the first `before` stages.
    pub fn by_name(&self, name: &str, before: usize) -> Option<usize> {
        let lower = name.to_ascii_lowercase();
        self.stages[..before.min(self.stages.len())]
            .iter()
            .rev()
            .find(|s| s.name.as_ref().is_some_and(|n| n.value == lower))
            .map(|s| s.index)
    }

    /// The stage `name` refers to among the first `before`: a name, or an
    /// index.
    pub fn by_ref(&self, name: &str, before: usize) -> Option<usize> {
        self.by_name(name, before).or_else(|| {
            name.parse::<usize>()
                .ok()
                .filter(|i| *i < before.min(self.stages.len()))
        })
    }

    /// The stage a build of `target` ends with (the last one by default).
    pub fn target(&self, target: Option<&str>) -> Result<usize, String> {
        let Some(t) = target else {
            return Ok(self.stages.len() - 1);
        };
        self.by_name(t, self.stages.len()).ok_or_else(|| {
            let names: Vec<&str> = self
                .stages
                .iter()
                .filter_map(|s| s.name.as_ref().map(|n| n.value.as_str()))
                .collect();
            let lower = t.to_ascii_lowercase();
            // BuildKit (util/suggest): the closest name, if it is close
            let close = names
                .iter()
                .map(|n| (edit_distance(n, &lower), *n))
                .filter(|(d, n)| *d <= (n.len() / 2).max(1))
                .min();
            let hint = match close {
                Some((_, n)) => format!("did you mean {n}?"),
                None if names.is_empty() => "stages: none named".to_string(),
                None => format!("stages: {}", names.join(", ")),
            };
            format!("target stage {lower:?} could not be found ({hint})")
        })
    }

    /// Refuses references to the stage itself or to a later one (in FROM,
    /// by name, and COPY --from, by name or index), whichever stages the
    /// target needs, so that a Dockerfile is accepted or refused as a
    /// whole. `bases` are the expanded bases of the stages.
    pub fn check_references(&self, bases: &[String]) -> Result<(), (Span, String)> {
        for stage in &self.stages {
            // the first stage of that name at or after this one, when no
            // earlier stage has the name
            let later = |name: &str| {
                if self.by_name(name, stage.index).is_some() {
                    return None;
                }
                let lower = name.to_ascii_lowercase();
                self.stages[stage.index..]
                    .iter()
                    .find(|s| s.name.as_ref().is_some_and(|n| n.value == lower))
                    .map(|s| s.index)
            };
            if later(&bases[stage.index]) == Some(stage.index) {
                return Err((
                    stage.from.span,
                    format!(
                        "circular dependency detected on stage {:?}",
                        bases[stage.index]
                    ),
                ));
            }
            for instr in &stage.body {
                let Some(flag) = instr.flag("from") else {
                    continue;
                };
                let Some(value) = flag.value.as_deref().filter(|v| !v.contains('$')) else {
                    continue;
                };
                let by_index = value.parse::<usize>().ok().filter(|i| *i >= stage.index);
                if let Some(i) = later(value).or(by_index) {
                    let message = if i == stage.index {
                        format!(
                            "COPY --from={value}: stage {value:?} is the stage it is in (a cycle)"
                        )
                    } else {
                        // BuildKit's words (dockerfile2llb, dispatchCopy)
                        let current = match &stage.name {
                            Some(n) => n.value.clone(),
                            None => format!("stage-{}", stage.index),
                        };
                        format!("cannot copy from stage {value:?}, it needs to be defined before current stage {current:?}")
                    };
                    return Err((flag.span, message));
                }
            }
        }
        Ok(())
    }

    /// The stages a build of `target` needs, `target` last, each after
    /// the stages it needs.
    pub fn needed(&self, target: usize, bases: &[String]) -> Vec<usize> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![target];
        while let Some(i) = todo.pop() {
            if !seen.insert(i) {
                continue;
            }
            let s = &self.stages[i];
            if !bases[i].chars().all(|c| c.is_ascii_digit()) {
                todo.extend(self.by_name(&bases[i], i));
            }
            for instr in &s.body {
                if let Some(from) = instr.flag("from").and_then(|f| f.value.as_deref()) {
                    todo.extend(self.by_ref(from, i));
                }
            }
        }
        seen.into_iter().collect()
    }

    /// Steps (FROM and each instruction) of the stages `target` needs, for
    /// `[n/N]` counters.
    pub fn count_steps(&self, target: usize, bases: &[String]) -> usize {
        self.needed(target, bases)
            .iter()
            .map(|i| 1 + self.stages[*i].body.len())
            .sum()
    }

    /// The first RUN or ONBUILD among the stages `target` needs: minibuild
    /// runs no containers, and says so before any base image is fetched.
    pub fn first_unsupported(&self, target: usize, bases: &[String]) -> Option<&'a Instruction> {
        self.needed(target, bases)
            .iter()
            .flat_map(|i| self.stages[*i].body.iter().copied())
            .filter(|instr| matches!(instr.kind, Kind::Run(_) | Kind::Onbuild(_)))
            .min_by_key(|instr| instr.span.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bases(df: &Dockerfile) -> Vec<String> {
        df.stages()
            .unwrap()
            .stages
            .iter()
            .map(|s| s.base.value.clone())
            .collect()
    }

    #[test]
    fn splits_global_args_and_stages() {
        let df = crate::syntax::parse(
            "ARG A=1\nFROM scratch AS One\nCOPY a /\nFROM one\nENV X=1\nCMD x\n",
        )
        .unwrap();
        let s = df.stages().unwrap();
        assert_eq!(s.args.len(), 1);
        assert_eq!(s.stages.len(), 2);
        assert_eq!(s.stages[1].body.len(), 2);
        assert_eq!(s.by_name("ONE", 2), Some(0));
        assert_eq!(s.by_name("one", 0), None);
        assert_eq!(s.target(None), Ok(1));
        assert_eq!(s.target(Some("One")), Ok(0));
        assert!(s.target(Some("nope")).unwrap_err().contains("stages: one"));
        assert!(s
            .target(Some("onee"))
            .unwrap_err()
            .contains("(did you mean one?)"));
        assert_eq!(edit_distance("bulid", "build"), 2);
        assert_eq!(s.count_steps(1, &bases(&df)), 5);
        assert_eq!(s.count_steps(0, &bases(&df)), 2);
    }

    #[test]
    fn only_arg_before_from_and_from_is_required() {
        let df = crate::syntax::parse("ENV A=1\nFROM scratch\n").unwrap();
        assert!(df
            .stages()
            .unwrap_err()
            .message
            .contains("ENV before the first FROM"));
        let df = crate::syntax::parse("ARG A=1\n").unwrap();
        assert!(df
            .stages()
            .unwrap_err()
            .message
            .contains("no stages to build"));
    }

    #[test]
    fn a_duplicate_stage_name_warns_and_the_later_one_wins() {
        let df = crate::syntax::parse("FROM scratch AS a\nFROM scratch AS a\nFROM a\n").unwrap();
        let s = df.stages().unwrap();
        assert_eq!(s.warnings.len(), 1);
        assert!(s.warnings[0].1.contains("Duplicate stage name \"a\""));
        assert_eq!(s.by_name("a", 2), Some(1));
    }

    #[test]
    fn references_to_later_stages_are_refused() {
        let df = crate::syntax::parse("FROM scratch\nCOPY --from=1 /a /\nFROM scratch\n").unwrap();
        let s = df.stages().unwrap();
        let (_, msg) = s.check_references(&bases(&df)).unwrap_err();
        assert!(
            msg.contains("it needs to be defined before current stage \"stage-0\""),
            "{msg}"
        );
        let df = crate::syntax::parse("FROM x AS x\n").unwrap();
        let s = df.stages().unwrap();
        let (_, msg) = s.check_references(&bases(&df)).unwrap_err();
        assert!(msg.contains("circular"), "{msg}");
    }

    #[test]
    fn only_needed_stages_count_and_run_is_found_first() {
        let df = crate::syntax::parse(
            "FROM scratch AS a\nRUN x\nFROM scratch AS b\nCOPY f /\nFROM b\nCOPY --from=b f /g\n",
        )
        .unwrap();
        let s = df.stages().unwrap();
        let b = bases(&df);
        assert_eq!(s.needed(2, &b), vec![1, 2]);
        assert!(s.first_unsupported(2, &b).is_none());
        assert!(s.first_unsupported(0, &b).is_some());
    }
}
