//! Collapsing repeated fragment spreads, so a "fragment bomb" executes in linear time.
//!
//! The spec's CollectFields visits a fragment once per selection set, however many times it is
//! spread there (directly or through other fragments): the fields would merge anyway.
//! async-graphql's executor expands every spread where it stands instead, so a document whose
//! fragments spread the next one twice, 40 levels down, costs it 2^40 field resolutions for a
//! 1 KB document. [`collapse_spreads`] rewrites such a document the way CollectFields reads it:
//! each spread becomes an inline fragment on the fragment's type, and a fragment already
//! collected in the same selection set is left out. The answer is the same.

use std::collections::HashSet;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Field, InlineFragment, OperationDefinition, Selection,
    SelectionSet, TypeCondition,
};
use async_graphql::parser::Positioned;
use async_graphql::{Name, Value, Variables};

/// `document` with every fragment spread inlined, each fragment at most once per selection
/// set, and no fragment definitions left. `None` when the document spreads a fragment it does
/// not define or spreads fragments in a cycle: it is invalid, and async-graphql refuses it.
///
/// A spread under `@skip`/`@include` that the variables exclude keeps its directives over
/// `{ __typename }` (so its variables stay used, and it is still skipped); one they include
/// counts as collected; one with another directive is inlined without being collected.
pub(crate) fn collapse_spreads(
    document: &ExecutableDocument,
    variables: &Variables,
) -> Option<ExecutableDocument> {
    let collapser = Collapser {
        document,
        variables,
    };
    let operation = |operation: &Positioned<OperationDefinition>| {
        let mut stack = Vec::new();
        let selection_set = collapser.selection_set(
            &operation.node.selection_set,
            &mut HashSet::new(),
            &mut stack,
        )?;
        Some(Positioned::new(
            OperationDefinition {
                selection_set,
                ..operation.node.clone()
            },
            operation.pos,
        ))
    };
    let operations = match &document.operations {
        DocumentOperations::Single(single) => DocumentOperations::Single(operation(single)?),
        DocumentOperations::Multiple(many) => DocumentOperations::Multiple(
            many.iter()
                .map(|(name, op)| Some((name.clone(), operation(op)?)))
                .collect::<Option<_>>()?,
        ),
    };
    Some(ExecutableDocument {
        operations,
        fragments: Default::default(),
    })
}

struct Collapser<'a> {
    document: &'a ExecutableDocument,
    variables: &'a Variables,
}

/// What `@skip`/`@include` make of a spread.
enum Inclusion {
    Included,
    Excluded,
    /// Another directive, or a condition that is not a boolean: left to the executor.
    Unknown,
}

impl Collapser<'_> {
    /// `set` rewritten; `collected` holds the fragments already collected for the selection set
    /// being built (shared with the inline fragments and fragments within it), `stack` the
    /// fragments being expanded.
    fn selection_set(
        &self,
        set: &Positioned<SelectionSet>,
        collected: &mut HashSet<Name>,
        stack: &mut Vec<Name>,
    ) -> Option<Positioned<SelectionSet>> {
        let mut items = Vec::with_capacity(set.node.items.len());
        for selection in &set.node.items {
            match &selection.node {
                Selection::Field(field) => {
                    // A field's selection set is a selection set of its own.
                    let selection_set =
                        self.selection_set(&field.node.selection_set, &mut HashSet::new(), stack)?;
                    items.push(Positioned::new(
                        Selection::Field(Positioned::new(
                            Field {
                                selection_set,
                                ..field.node.clone()
                            },
                            field.pos,
                        )),
                        selection.pos,
                    ));
                }
                Selection::InlineFragment(inline) => {
                    let selection_set =
                        self.selection_set(&inline.node.selection_set, collected, stack)?;
                    items.push(Positioned::new(
                        Selection::InlineFragment(Positioned::new(
                            InlineFragment {
                                selection_set,
                                ..inline.node.clone()
                            },
                            inline.pos,
                        )),
                        selection.pos,
                    ));
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    if stack.contains(name) {
                        return None;
                    }
                    let fragment = self.document.fragments.get(name)?;
                    let inclusion = self.inclusion(&spread.node.directives);
                    let selection_set = match inclusion {
                        Inclusion::Excluded => typename_only(fragment.node.selection_set.pos),
                        Inclusion::Included if !collected.insert(name.clone()) => continue,
                        Inclusion::Included | Inclusion::Unknown => {
                            stack.push(name.clone());
                            let set =
                                self.selection_set(&fragment.node.selection_set, collected, stack);
                            stack.pop();
                            set?
                        }
                    };
                    let type_condition = Positioned::new(
                        TypeCondition {
                            on: fragment.node.type_condition.node.on.clone(),
                        },
                        fragment.node.type_condition.pos,
                    );
                    items.push(Positioned::new(
                        Selection::InlineFragment(Positioned::new(
                            InlineFragment {
                                type_condition: Some(type_condition),
                                directives: spread.node.directives.clone(),
                                selection_set,
                            },
                            spread.pos,
                        )),
                        selection.pos,
                    ));
                }
            }
        }
        Some(Positioned::new(SelectionSet { items }, set.pos))
    }

    fn inclusion(
        &self,
        directives: &[Positioned<async_graphql::parser::types::Directive>],
    ) -> Inclusion {
        let mut included = true;
        for directive in directives {
            let name = directive.node.name.node.as_str();
            if name != "skip" && name != "include" {
                return Inclusion::Unknown;
            }
            let Some(condition) = directive.node.get_argument("if") else {
                return Inclusion::Unknown;
            };
            let value = condition
                .node
                .clone()
                .into_const_with(|variable: Name| {
                    Ok::<_, std::convert::Infallible>(
                        self.variables
                            .get(&variable)
                            .cloned()
                            .unwrap_or(Value::Null),
                    )
                })
                .unwrap_or(Value::Null);
            let Value::Boolean(condition) = value else {
                return Inclusion::Unknown;
            };
            if (name == "skip") == condition {
                included = false;
            }
        }
        if included {
            Inclusion::Included
        } else {
            Inclusion::Excluded
        }
    }
}

fn typename_only(pos: async_graphql::parser::Pos) -> Positioned<SelectionSet> {
    let field = Field {
        alias: None,
        name: Positioned::new(Name::new("__typename"), pos),
        arguments: Vec::new(),
        directives: Vec::new(),
        selection_set: Positioned::new(SelectionSet::default(), pos),
    };
    Positioned::new(
        SelectionSet {
            items: vec![Positioned::new(
                Selection::Field(Positioned::new(field, pos)),
                pos,
            )],
        },
        pos,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn collapsed(query: &str, variables: serde_json::Value) -> Option<ExecutableDocument> {
        collapse_spreads(
            &parse_query(query).unwrap(),
            &Variables::from_json(variables),
        )
    }

    fn spreads_and_inlines(set: &SelectionSet) -> (usize, usize) {
        set.items
            .iter()
            .fold((0, 0), |(s, i), item| match &item.node {
                Selection::Field(f) => {
                    let (a, b) = spreads_and_inlines(&f.node.selection_set.node);
                    (s + a, i + b)
                }
                Selection::InlineFragment(f) => {
                    let (a, b) = spreads_and_inlines(&f.node.selection_set.node);
                    (s + a, i + b + 1)
                }
                Selection::FragmentSpread(_) => (s + 1, i),
            })
    }

    fn root(document: &ExecutableDocument) -> &SelectionSet {
        &document
            .operations
            .iter()
            .next()
            .unwrap()
            .1
            .node
            .selection_set
            .node
    }

    #[test]
    fn each_fragment_once_per_selection_set() {
        let q = "{ a { ...F ...G } b { ...F } }
                 fragment F on T { x ...H }
                 fragment G on T { y ...H }
                 fragment H on T { z }";
        let doc = collapsed(q, serde_json::json!({})).unwrap();
        assert!(doc.fragments.is_empty());
        // a: F, H (through F), G (H already collected); b: F, H.
        assert_eq!(spreads_and_inlines(root(&doc)), (0, 5));
    }

    #[test]
    fn skipped_spreads_keep_their_directive_and_cycles_or_unknown_fragments_give_up() {
        let q = "query($no: Boolean!) { a { ...F @include(if: $no) ...F } } fragment F on T { x }";
        let doc = collapsed(q, serde_json::json!({ "no": false })).unwrap();
        // The excluded spread stays (over __typename), the included one is inlined.
        assert_eq!(spreads_and_inlines(root(&doc)), (0, 2));

        let cyclic = "{ a { ...F } } fragment F on T { b { ...G } } fragment G on T { c { ...F } }";
        assert!(collapsed(cyclic, serde_json::json!({})).is_none());
        assert!(collapsed("{ a { ...Missing } }", serde_json::json!({})).is_none());
    }
}
