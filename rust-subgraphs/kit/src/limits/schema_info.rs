//! What the cost analysis needs to know of the schema: for each field of each output type, the
//! type it returns, whether that is a list, and whether the field takes `first`.
//!
//! Read once from the served schema's SDL (`Schema::sdl`, which includes `_service` and, when
//! the subgraph resolves entities, `_entities`), plus the introspection types, which no SDL
//! prints but any client may select.

use std::collections::{HashMap, HashSet};

use async_graphql::parser::types::{BaseType, TypeKind, TypeSystemDefinition};
use async_graphql::parser::{parse_schema, Error as ParseError};
use async_graphql::Value as ConstValue;

/// A field of an output type, as far as cost goes.
#[derive(Debug, Clone)]
pub(crate) struct FieldInfo {
    /// The named type underneath any list and non-null wrappers.
    pub type_name: String,
    /// Whether the field returns a list (at any nesting).
    pub list: bool,
    /// Whether the field takes a `first` argument (a page size).
    pub takes_first: bool,
    /// The default of its `first` argument, when it declares an integer one.
    pub first_default: Option<u64>,
}

/// The schema's output types and their fields, as far as the cost analysis goes; build it once
/// per served schema with [`SchemaInfo::from_sdl`].
#[derive(Debug, Clone, Default)]
pub struct SchemaInfo {
    /// Objects, interfaces and unions (a field returning one weighs 1).
    composite: HashSet<String>,
    fields: HashMap<String, HashMap<String, FieldInfo>>,
    query_type: String,
}

/// The introspection types and root fields (GraphQL spec, section 4.5), as far as cost goes.
const INTROSPECTION_SDL: &str = r#"
type __Schema { description: String types: [__Type!]! queryType: __Type! mutationType: __Type
  subscriptionType: __Type directives: [__Directive!]! }
type __Type { kind: __TypeKind! name: String description: String specifiedByURL: String
  fields(includeDeprecated: Boolean = false): [__Field!] interfaces: [__Type!]
  possibleTypes: [__Type!] enumValues(includeDeprecated: Boolean = false): [__EnumValue!]
  inputFields(includeDeprecated: Boolean = false): [__InputValue!] ofType: __Type isOneOf: Boolean }
type __Field { name: String! description: String args(includeDeprecated: Boolean = false): [__InputValue!]!
  type: __Type! isDeprecated: Boolean! deprecationReason: String }
type __InputValue { name: String! description: String type: __Type! defaultValue: String
  isDeprecated: Boolean! deprecationReason: String }
type __EnumValue { name: String! description: String isDeprecated: Boolean! deprecationReason: String }
type __Directive { name: String! description: String locations: [__DirectiveLocation!]!
  args(includeDeprecated: Boolean = false): [__InputValue!]! isRepeatable: Boolean! }
enum __TypeKind { SCALAR OBJECT INTERFACE UNION ENUM INPUT_OBJECT LIST NON_NULL }
enum __DirectiveLocation { QUERY }
"#;

impl SchemaInfo {
    /// The schema described by `sdl`, with the introspection types and the root's `__schema`
    /// and `__type` fields added.
    ///
    /// # Errors
    /// When `sdl` is not a schema the parser reads.
    pub fn from_sdl(sdl: &str) -> Result<Self, ParseError> {
        let mut info = Self {
            query_type: "Query".into(),
            ..Self::default()
        };
        info.add(sdl)?;
        info.add(INTROSPECTION_SDL)?;
        let root = info.query_type.clone();
        let root_fields = info.fields.entry(root).or_default();
        for (name, type_name) in [("__schema", "__Schema"), ("__type", "__Type")] {
            root_fields.insert(
                name.into(),
                FieldInfo {
                    type_name: type_name.into(),
                    list: false,
                    takes_first: false,
                    first_default: None,
                },
            );
        }
        Ok(info)
    }

    fn add(&mut self, sdl: &str) -> Result<(), ParseError> {
        for definition in parse_schema(sdl)?.definitions {
            match definition {
                TypeSystemDefinition::Schema(schema) => {
                    if let Some(query) = &schema.node.query {
                        self.query_type = query.node.to_string();
                    }
                }
                TypeSystemDefinition::Type(ty) => {
                    let ty = ty.node;
                    let name = ty.name.node.to_string();
                    let fields = match ty.kind {
                        TypeKind::Object(object) => object.fields,
                        TypeKind::Interface(interface) => interface.fields,
                        TypeKind::Union(_) => Vec::new(),
                        _ => continue,
                    };
                    self.composite.insert(name.clone());
                    let known = self.fields.entry(name).or_default();
                    for field in fields {
                        let field = field.node;
                        let (type_name, list) = named_type(&field.ty.node.base);
                        let first = field
                            .arguments
                            .iter()
                            .find(|argument| argument.node.name.node == "first");
                        let first_default = first
                            .and_then(|first| first.node.default_value.as_ref())
                            .and_then(|value| match &value.node {
                                ConstValue::Number(n) => n.as_u64(),
                                _ => None,
                            });
                        known.insert(
                            field.name.node.to_string(),
                            FieldInfo {
                                type_name,
                                list,
                                takes_first: first.is_some(),
                                first_default,
                            },
                        );
                    }
                }
                TypeSystemDefinition::Directive(_) => {}
            }
        }
        Ok(())
    }

    /// The root query type's name.
    pub(crate) fn query_type(&self) -> &str {
        &self.query_type
    }

    /// The field `field` of `type_name`, when the schema has it.
    pub(crate) fn field(&self, type_name: &str, field: &str) -> Option<&FieldInfo> {
        self.fields.get(type_name)?.get(field)
    }

    /// Whether `type_name` is an object, interface or union.
    pub(crate) fn is_composite(&self, type_name: &str) -> bool {
        self.composite.contains(type_name)
    }
}

/// The named type under `base`'s wrappers, and whether a list wraps it.
fn named_type(base: &BaseType) -> (String, bool) {
    match base {
        BaseType::Named(name) => (name.to_string(), false),
        BaseType::List(inner) => (named_type(&inner.base).0, true),
    }
}

#[cfg(test)]
mod tests {
    use super::SchemaInfo;

    #[test]
    fn reads_fields_lists_first_and_introspection() {
        let info = SchemaInfo::from_sdl(
            "type Query { search(first: Int = 20): Conn! } type Conn { edges: [Edge!]! total: Int! }
             type Edge { node: Hit } union Hit = Edge",
        )
        .unwrap();
        let search = info.field("Query", "search").unwrap();
        assert!(search.takes_first && !search.list);
        assert_eq!(search.first_default, Some(20));
        assert_eq!(search.type_name, "Conn");
        let edges = info.field("Conn", "edges").unwrap();
        assert!(edges.list && !edges.takes_first);
        assert!(info.is_composite("Hit"));
        assert!(!info.is_composite("Int"));
        assert_eq!(
            info.field("Query", "__schema").unwrap().type_name,
            "__Schema"
        );
        assert!(info.field("__Type", "fields").unwrap().list);
        assert!(info.field("Query", "nope").is_none());
    }
}
