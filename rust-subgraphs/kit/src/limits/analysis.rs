//! The shape of an operation: depth, repeats of one field on a path, root fields, expanded
//! selections and cost, computed from its parsed document without executing anything; and the
//! aliases written in a document.
//!
//! Fragments are analysed once each, leaves first (a spread reuses its fragment's figures), so
//! a document whose fragments spread each other many times costs one pass per definition, and
//! the walk never recurses through spreads. A spread of a fragment on a cycle (or of one the
//! document does not define) adds nothing: such a document is invalid, and async-graphql
//! refuses it before anything executes.
//!
//! Rules (the same as the TypeScript services', `packages/service-kit/src/operation-limits/`):
//! - depth: the number of fields on the longest path (`{ search { totalCount } }` is 2);
//!   fragments add no level of their own, nor does `__Type.ofType` (it unwraps list and
//!   non-null wrappers, a chain the schema bounds);
//! - repeats: the most times one field coordinate (`Type.field`) appears on one path
//!   (`__Type.ofType` aside);
//! - aliases: the aliased fields written in the document (a fragment's once);
//! - root fields: the fields selected at the root, through fragments;
//! - cost of a field: its weight (1 when it returns an object, interface or union; 0 for
//!   scalars, enums and `__typename`) plus a multiplier times the cost of its selection set.
//!   The multiplier is `first` for a field taking `first` (literal or variable; when absent,
//!   the argument's default, else [`DEFAULT_PAGE_SIZE`]); the number of representations for
//!   `_entities`; 1 for `edges` and `nodes` of a type named `...Connection` (its `first`
//!   already counted them); the default list size for any other list; 1 otherwise. Sibling
//!   selections add up.
//! - selections: the field selections once every spread is expanded where it stands, which is
//!   what async-graphql's executor walks (it does not skip a fragment already collected).

use std::collections::{HashMap, HashSet};

use async_graphql::parser::types::{
    ExecutableDocument, Field, OperationDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, Value, Variables};

use super::schema_info::SchemaInfo;

/// Page size a field taking `first` is counted with when no `first` is given.
pub const DEFAULT_PAGE_SIZE: u64 = 20;

/// The figures the limits are compared with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Shape {
    pub depth: u64,
    /// The most repeated field coordinate on one path, and how many times.
    pub repeats: u64,
    pub repeated_field: Option<String>,
    pub root_fields: u64,
    pub cost: u64,
    pub selections: u64,
}

/// Figures of one selection set (or field, or fragment).
#[derive(Debug, Clone, Default)]
struct Profile {
    depth: u64,
    cost: u64,
    /// Fields selected at this level (through fragments).
    fields: u64,
    /// Field selections at this level and below, every spread expanded.
    selections: u64,
    /// Coordinate id → the most times it appears on one path below.
    repeats: HashMap<usize, u64>,
}

impl Profile {
    /// Adds a sibling selection's figures.
    fn add(&mut self, other: &Profile) {
        self.depth = self.depth.max(other.depth);
        self.cost = self.cost.saturating_add(other.cost);
        self.fields = self.fields.saturating_add(other.fields);
        self.selections = self.selections.saturating_add(other.selections);
        for (&coordinate, &count) in &other.repeats {
            let entry = self.repeats.entry(coordinate).or_insert(0);
            *entry = (*entry).max(count);
        }
    }
}

/// Walks one operation of a document.
struct Analyzer<'a> {
    document: &'a ExecutableDocument,
    schema: &'a SchemaInfo,
    variables: &'a Variables,
    defaults: HashMap<&'a str, Value>,
    default_list_size: u64,
    coordinates: HashMap<String, usize>,
    fragments: HashMap<&'a str, Profile>,
}

/// The shape of `operation` in `document`, with `variables` as sent.
pub(crate) fn analyse(
    document: &ExecutableDocument,
    operation: &OperationDefinition,
    variables: &Variables,
    schema: &SchemaInfo,
    default_list_size: u64,
) -> Shape {
    let defaults = operation
        .variable_definitions
        .iter()
        .filter_map(|definition| {
            let default = definition.node.default_value.as_ref()?;
            Some((definition.node.name.node.as_str(), default.node.clone()))
        })
        .collect();
    let mut analyzer = Analyzer {
        document,
        schema,
        variables,
        defaults,
        default_list_size,
        coordinates: HashMap::new(),
        fragments: HashMap::new(),
    };
    analyzer.analyse_fragments();
    let root = analyzer.selection_set(&operation.selection_set.node, schema.query_type());
    let (repeats, repeated_field) =
        root.repeats
            .iter()
            .max_by_key(|(_, &count)| count)
            .map_or((0, None), |(&id, &count)| {
                let name = analyzer
                    .coordinates
                    .iter()
                    .find(|(_, &known)| known == id)
                    .map(|(name, _)| name.clone());
                (count, name)
            });
    Shape {
        depth: root.depth,
        repeats,
        repeated_field,
        root_fields: root.fields,
        cost: root.cost,
        selections: root.selections,
    }
}

impl<'a> Analyzer<'a> {
    /// Computes every fragment's profile, each after the fragments it spreads (Kahn's
    /// algorithm); fragments on a cycle are left out.
    fn analyse_fragments(&mut self) {
        let document = self.document;
        let mut waiting: HashMap<&'a str, usize> = HashMap::new();
        let mut dependents: HashMap<&'a str, Vec<&'a str>> = HashMap::new();
        let mut ready = Vec::new();
        for (name, fragment) in &document.fragments {
            let mut spreads = HashSet::new();
            collect_spreads(&fragment.node.selection_set.node, &mut spreads);
            spreads.retain(|spread| document.fragments.contains_key(*spread));
            for spread in &spreads {
                dependents.entry(*spread).or_default().push(name.as_str());
            }
            if spreads.is_empty() {
                ready.push(name.as_str());
            }
            waiting.insert(name.as_str(), spreads.len());
        }
        while let Some(name) = ready.pop() {
            let Some(fragment) = document.fragments.get(name) else {
                continue;
            };
            let on = fragment.node.type_condition.node.on.node.as_str();
            let profile = self.selection_set(&fragment.node.selection_set.node, on);
            self.fragments.insert(name, profile);
            for dependent in dependents.get(name).into_iter().flatten() {
                if let Some(count) = waiting.get_mut(dependent) {
                    *count -= 1;
                    if *count == 0 {
                        ready.push(dependent);
                    }
                }
            }
        }
    }

    fn selection_set(&mut self, set: &SelectionSet, parent: &str) -> Profile {
        let mut profile = Profile::default();
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let field = self.field(&field.node, parent);
                    profile.add(&field);
                }
                Selection::InlineFragment(inline) => {
                    let on = inline
                        .node
                        .type_condition
                        .as_ref()
                        .map_or(parent, |condition| condition.node.on.node.as_str());
                    let inner = self.selection_set(&inline.node.selection_set.node, on);
                    profile.add(&inner);
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) =
                        self.fragments.get(spread.node.fragment_name.node.as_str())
                    {
                        profile.add(fragment);
                    }
                }
            }
        }
        profile
    }

    fn field(&mut self, field: &Field, parent: &str) -> Profile {
        let name = field.name.node.as_str();
        let info = self.schema.field(parent, name).cloned();
        let child_type = info.as_ref().map_or("", |info| info.type_name.as_str());
        let mut profile = self.selection_set(&field.selection_set.node, child_type);
        let weight = u64::from(
            info.as_ref()
                .is_some_and(|info| self.schema.is_composite(&info.type_name)),
        );
        let multiplier = match &info {
            _ if name == "_entities" && parent == self.schema.query_type() => self
                .argument(field, "representations")
                .map_or(1, |value| match value {
                    Value::List(items) => items.len() as u64,
                    _ => 1,
                }),
            Some(info) if info.takes_first => self
                .argument(field, "first")
                .and_then(|value| page_size(&value))
                .or(info.first_default)
                .unwrap_or(DEFAULT_PAGE_SIZE),
            Some(_) if parent.ends_with("Connection") && matches!(name, "edges" | "nodes") => 1,
            Some(info) if info.list => self.default_list_size,
            _ => 1,
        };
        profile.cost = weight.saturating_add(multiplier.saturating_mul(profile.cost));
        profile.fields = 1;
        profile.selections = profile.selections.saturating_add(1);
        if parent == "__Type" && name == "ofType" {
            // A type wrapper: neither a level nor a repeat.
            return profile;
        }
        profile.depth += 1;
        let coordinate = self.coordinate(parent, name);
        *profile.repeats.entry(coordinate).or_insert(0) += 1;
        profile
    }

    /// The value of argument `name` of `field`, variables replaced by what the request sent
    /// (or their default); `None` when absent or null.
    fn argument(&self, field: &Field, name: &str) -> Option<Value> {
        let value = field.get_argument(name)?.node.clone();
        let resolved = value
            .into_const_with(|variable: Name| {
                Ok::<_, std::convert::Infallible>(
                    self.variables
                        .get(&variable)
                        .or_else(|| self.defaults.get(variable.as_str()))
                        .cloned()
                        .unwrap_or(Value::Null),
                )
            })
            .unwrap_or(Value::Null);
        (resolved != Value::Null).then_some(resolved)
    }

    fn coordinate(&mut self, parent: &str, field: &str) -> usize {
        let key = format!("{parent}.{field}");
        let next = self.coordinates.len();
        *self.coordinates.entry(key).or_insert(next)
    }
}

/// A `first` value as a page size: a non-negative integer (a fraction rounds down, a negative
/// number counts as 0); `None` for anything else, which is then counted as the default.
fn page_size(value: &Value) -> Option<u64> {
    let Value::Number(number) = value else {
        return None;
    };
    if let Some(n) = number.as_u64() {
        return Some(n);
    }
    if number.as_i64().is_some() {
        return Some(0);
    }
    number
        .as_f64()
        .map(|f| if f <= 0.0 { 0 } else { f.floor() as u64 })
}

/// The aliased fields written in `document` (in its operations and fragments, each once).
pub(crate) fn written_aliases(document: &ExecutableDocument) -> u64 {
    fn count(set: &SelectionSet) -> u64 {
        set.items
            .iter()
            .map(|selection| match &selection.node {
                Selection::Field(field) => {
                    u64::from(field.node.alias.is_some()) + count(&field.node.selection_set.node)
                }
                Selection::InlineFragment(inline) => count(&inline.node.selection_set.node),
                Selection::FragmentSpread(_) => 0,
            })
            .sum()
    }
    let operations: u64 = document
        .operations
        .iter()
        .map(|(_, operation)| count(&operation.node.selection_set.node))
        .sum();
    let fragments: u64 = document
        .fragments
        .values()
        .map(|fragment| count(&fragment.node.selection_set.node))
        .sum();
    operations + fragments
}

/// The names of the fragments spread anywhere in `set`.
fn collect_spreads<'a>(set: &'a SelectionSet, spreads: &mut HashSet<&'a str>) {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => collect_spreads(&field.node.selection_set.node, spreads),
            Selection::InlineFragment(inline) => {
                collect_spreads(&inline.node.selection_set.node, spreads);
            }
            Selection::FragmentSpread(spread) => {
                spreads.insert(spread.node.fragment_name.node.as_str());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    const SDL: &str = "
        type Query { search(query: String!, first: Int = 20): SearchConnection! items: [Item!]! one: Item }
        type SearchConnection { edges: [SearchEdge!]! nodes: [Item!]! totalCount: Int! facets: Facets! }
        type SearchEdge { node: Item! }
        type Facets { level: [Count!]! }
        type Count { value: String! count: Int! }
        type Item { id: ID! parent: Item children(first: Int): ItemConnection! tags: [String!]! }
        type ItemConnection { edges: [ItemEdge!]! }
        type ItemEdge { node: Item! }";

    fn shape(query: &str, variables: serde_json::Value) -> Shape {
        let schema = SchemaInfo::from_sdl(SDL).unwrap();
        let document = parse_query(query).unwrap();
        let variables = Variables::from_json(variables);
        let operation = document.operations.iter().next().unwrap().1;
        analyse(&document, &operation.node, &variables, &schema, 10)
    }

    #[test]
    fn cost_multiplies_by_first_and_connections_are_not_counted_twice() {
        let s = shape(
            r#"{ search(query: "x", first: 20) { totalCount facets { level { value count } } edges { node { id } } } }"#,
            serde_json::json!({}),
        );
        // level = 1 + 10 × 0 = 1; facets = 1 + 1 = 2; node = 1; edges = 1 + 1 × 1 = 2.
        assert_eq!(s.cost, 1 + 20 * (2 + 2));
        assert_eq!(s.depth, 4);
        assert_eq!(s.root_fields, 1);
    }

    #[test]
    fn first_from_a_variable_its_default_or_the_default_page_size() {
        let q = r#"query($n: Int = 7) { search(query: "x", first: $n) { nodes { id } } }"#;
        assert_eq!(shape(q, serde_json::json!({ "n": 50 })).cost, 1 + 50);
        assert_eq!(shape(q, serde_json::json!({ "n": 2.9 })).cost, 1 + 2);
        assert_eq!(shape(q, serde_json::json!({})).cost, 1 + 7);
        let absent = r#"{ search(query: "x") { nodes { id } } }"#;
        assert_eq!(shape(absent, serde_json::json!({})).cost, 1 + 20);
        // `children(first: Int)` has no default: the platform's page size.
        let children = "{ one { children { edges { node { id } } } } }";
        assert_eq!(
            shape(children, serde_json::json!({})).cost,
            1 + (1 + DEFAULT_PAGE_SIZE * (1 + 1))
        );
    }

    #[test]
    fn lists_without_first_use_the_default_list_size() {
        // items: 1 + 10 × (parent (1 + 0)); tags are scalars: weight 0.
        let s = shape("{ items { tags parent { id } } }", serde_json::json!({}));
        assert_eq!(s.cost, 1 + 10);
    }

    #[test]
    fn fragments_add_their_fields_and_cycles_stop() {
        let q = "{ one { ...A ... on Item { a: id } } }
                 fragment A on Item { parent { ...B } x: id }
                 fragment B on Item { parent { id } }";
        let s = shape(q, serde_json::json!({}));
        assert_eq!(s.depth, 4);
        assert_eq!(s.repeats, 2);
        assert_eq!(s.repeated_field.as_deref(), Some("Item.parent"));
        assert_eq!(s.cost, 3);
        assert_eq!(written_aliases(&parse_query(q).unwrap()), 2);

        let cyclic = "{ one { ...A } } fragment A on Item { parent { ...B } } fragment B on Item { parent { ...A } }";
        let s = shape(cyclic, serde_json::json!({}));
        assert_eq!(s.depth, 1);
    }

    #[test]
    fn type_wrappers_are_neither_levels_nor_repeats() {
        let s = shape(
            "{ __schema { types { ofType { ofType { ofType { name } } } } } }",
            serde_json::json!({}),
        );
        assert_eq!(s.depth, 3);
        assert_eq!(s.repeats, 1);
    }

    #[test]
    fn fragments_spread_many_times_are_counted_each_time_without_walking_them_again() {
        // Each level spreads the next twice: 2^40 paths, counted from 41 definitions.
        let mut q = String::from("{ one { ...F0 } }\n");
        for i in 0..40 {
            q.push_str(&format!(
                "fragment F{i} on Item {{ ...F{} ...F{} }}\n",
                i + 1,
                i + 1
            ));
        }
        q.push_str("fragment F40 on Item { a: parent { id } }");
        let s = shape(&q, serde_json::json!({}));
        assert_eq!(s.selections, (1 << 41) + 1);
        assert_eq!(s.depth, 3);
        assert_eq!(written_aliases(&parse_query(&q).unwrap()), 1);
    }
}
