//! Operation limits, checked before async-graphql executes anything: a subgraph can be
//! reached directly, so it refuses what the gateway refuses (same settings, same rules, same
//! refusal body as the TypeScript services). [`crate::graphql::GraphqlEndpoint`] applies them to
//! every `/graphql` request; [`crate::config::Env::operation_limits`] reads them.
//!
//! In the TypeScript services' order: the document's lexical tokens (counted before it is
//! parsed), then, once parsed, its aliases, its root fields, the most repeats of one field on a
//! path, its depth, and its cost (see `limits/analysis.rs` for the rules). A refusal is HTTP 400 with
//! one GraphQL error: `BAD_USER_INPUT`, a `reason` and the computed figure next to the limit.
//!
//! A batch (a JSON array of requests) counts as one request: its tokens, aliases, root fields
//! and costs add up; its depth and repeats are those of its worst operation.
//!
//! A document that passes, but whose fragments expand to more field selections than it has
//! tokens, is handed on with its repeated spreads collapsed (`limits/fragments.rs`): async-graphql
//! would otherwise resolve a fragment once per spread, exponentially often for a fragment bomb.
//!
//! The cost limit depends on the caller's [`Role`]; a subgraph that verifies no token (search:
//! its results are public) counts every caller as [`Role::Anonymous`].

mod analysis;
mod fragments;
mod schema_info;
mod tokens;

use async_graphql::parser::types::DocumentOperations;
use async_graphql::BatchRequest;
use serde_json::{json, Value as Json};

pub use analysis::DEFAULT_PAGE_SIZE;
pub use schema_info::SchemaInfo;

/// Default of `LIMIT_MAX_TOKENS`.
pub const DEFAULT_MAX_TOKENS: u64 = 2000;
/// Default of `LIMIT_MAX_DEPTH`.
pub const DEFAULT_MAX_DEPTH: u64 = 15;
/// Default of `LIMIT_MAX_RECURSION`.
pub const DEFAULT_MAX_RECURSION: u64 = 2;
/// Default of `LIMIT_MAX_ALIASES`.
pub const DEFAULT_MAX_ALIASES: u64 = 30;
/// Default of `LIMIT_MAX_ROOT_FIELDS`.
pub const DEFAULT_MAX_ROOT_FIELDS: u64 = 20;
/// Default of `LIMIT_MAX_COST_ANONYMOUS`.
pub const DEFAULT_MAX_COST_ANONYMOUS: u64 = 5000;
/// Default of `LIMIT_MAX_COST_SIGNED_IN`.
pub const DEFAULT_MAX_COST_SIGNED_IN: u64 = 10_000;
/// Default of `LIMIT_MAX_COST_ADMIN`.
pub const DEFAULT_MAX_COST_ADMIN: u64 = 50_000;
/// Default of `LIMIT_DEFAULT_LIST_SIZE`.
pub const DEFAULT_LIST_SIZE: u64 = 10;

/// The limits, as configured (see [`crate::config::Env::operation_limits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationLimits {
    /// `OPERATION_LIMITS`: whether anything is checked. Default `true`.
    pub enabled: bool,
    /// `LIMIT_MAX_TOKENS`: lexical tokens of a document. Default [`DEFAULT_MAX_TOKENS`].
    pub max_tokens: u64,
    /// `LIMIT_MAX_DEPTH`: fields on the longest path. Default [`DEFAULT_MAX_DEPTH`].
    pub max_depth: u64,
    /// `LIMIT_MAX_RECURSION`: times one field coordinate (`Type.field`) may appear on one
    /// path. Default [`DEFAULT_MAX_RECURSION`].
    pub max_recursion: u64,
    /// `LIMIT_MAX_ALIASES`: aliased fields. Default [`DEFAULT_MAX_ALIASES`].
    pub max_aliases: u64,
    /// `LIMIT_MAX_ROOT_FIELDS`: fields selected at the root. Default
    /// [`DEFAULT_MAX_ROOT_FIELDS`].
    pub max_root_fields: u64,
    /// `LIMIT_MAX_COST_ANONYMOUS`: cost for a caller without a token. Default
    /// [`DEFAULT_MAX_COST_ANONYMOUS`].
    pub max_cost_anonymous: u64,
    /// `LIMIT_MAX_COST_SIGNED_IN`: cost for a signed-in caller. Default
    /// [`DEFAULT_MAX_COST_SIGNED_IN`] (unused by a subgraph that counts every caller as
    /// anonymous, such as search).
    pub max_cost_signed_in: u64,
    /// `LIMIT_MAX_COST_ADMIN`: cost for an admin. Default [`DEFAULT_MAX_COST_ADMIN`] (as
    /// above).
    pub max_cost_admin: u64,
    /// `LIMIT_DEFAULT_LIST_SIZE`: what a list field without `first` multiplies its selection's
    /// cost by. Default [`DEFAULT_LIST_SIZE`].
    pub default_list_size: u64,
}

impl Default for OperationLimits {
    fn default() -> Self {
        Self {
            enabled: true,
            max_tokens: DEFAULT_MAX_TOKENS,
            max_depth: DEFAULT_MAX_DEPTH,
            max_recursion: DEFAULT_MAX_RECURSION,
            max_aliases: DEFAULT_MAX_ALIASES,
            max_root_fields: DEFAULT_MAX_ROOT_FIELDS,
            max_cost_anonymous: DEFAULT_MAX_COST_ANONYMOUS,
            max_cost_signed_in: DEFAULT_MAX_COST_SIGNED_IN,
            max_cost_admin: DEFAULT_MAX_COST_ADMIN,
            default_list_size: DEFAULT_LIST_SIZE,
        }
    }
}

/// Who is calling, as far as the cost limit goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// No (verified) token.
    Anonymous,
    /// A learner or instructor.
    SignedIn,
    /// An admin.
    Admin,
}

impl Role {
    fn describe(self) -> &'static str {
        match self {
            Self::Anonymous => "anonymous callers",
            Self::SignedIn => "signed-in users",
            Self::Admin => "admins",
        }
    }
}

/// Why an operation was refused, with the computed figure and the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `MAX_TOKENS`: the documents have more lexical tokens than allowed.
    Tokens {
        /// Tokens counted.
        tokens: u64,
        /// The limit.
        limit: u64,
    },
    /// `MAX_DEPTH`: a path has more fields than allowed.
    Depth {
        /// Fields on the longest path.
        depth: u64,
        /// The limit.
        limit: u64,
    },
    /// `MAX_RECURSION`: one field coordinate repeats on a path more than allowed.
    Recursion {
        /// Its most repeats on one path.
        repeats: u64,
        /// The limit.
        limit: u64,
        /// The coordinate, e.g. `Item.parent`.
        field: String,
    },
    /// `MAX_ALIASES`: more aliased fields than allowed.
    Aliases {
        /// Aliases counted.
        aliases: u64,
        /// The limit.
        limit: u64,
    },
    /// `MAX_ROOT_FIELDS`: more root fields than allowed.
    RootFields {
        /// Root fields counted.
        root_fields: u64,
        /// The limit.
        limit: u64,
    },
    /// `COST_LIMIT`: the operation's cost is over the caller's limit.
    Cost {
        /// The computed cost.
        cost: u64,
        /// The caller's limit.
        limit: u64,
        /// The caller's role.
        role: Role,
    },
}

impl Refusal {
    /// The `reason` extension.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Tokens { .. } => "MAX_TOKENS",
            Self::Depth { .. } => "MAX_DEPTH",
            Self::Recursion { .. } => "MAX_RECURSION",
            Self::Aliases { .. } => "MAX_ALIASES",
            Self::RootFields { .. } => "MAX_ROOT_FIELDS",
            Self::Cost { .. } => "COST_LIMIT",
        }
    }

    /// A message for the client: what was counted, and the limit (worded as the TypeScript
    /// services word it).
    pub fn message(&self) -> String {
        match self {
            Self::Tokens { tokens, limit } => {
                format!("The document has {tokens} tokens; the limit is {limit}.")
            }
            Self::Depth { depth, limit } => {
                format!("The operation is {depth} fields deep; the limit is {limit}.")
            }
            Self::Recursion {
                repeats,
                limit,
                field,
            } => format!(
                "The field {field} appears {repeats} times along one path; the limit is {limit}."
            ),
            Self::Aliases { aliases, limit } => {
                format!("The document has {aliases} aliases; the limit is {limit}.")
            }
            Self::RootFields { root_fields, limit } => format!(
                "The operation has {} top-level fields; the limit is {limit}.",
                capped(*root_fields)
            ),
            Self::Cost { cost, limit, role } => format!(
                "The operation's cost is {}; the limit for {} is {limit}.",
                capped(*cost),
                role.describe()
            ),
        }
    }

    /// The response body: `{"errors":[{"message", "extensions":{"code":"BAD_USER_INPUT",
    /// "reason", <figure>, "limit"}}]}` (`MAX_RECURSION` also names the field: `coordinate`).
    /// Figures past what a JSON number holds exactly are capped at 2^53 - 1.
    pub fn body(&self) -> Json {
        let (figure, value, limit) = match self {
            Self::Tokens { tokens, limit } => ("tokens", tokens, limit),
            Self::Depth { depth, limit } => ("depth", depth, limit),
            Self::Recursion { repeats, limit, .. } => ("repeats", repeats, limit),
            Self::Aliases { aliases, limit } => ("aliases", aliases, limit),
            Self::RootFields { root_fields, limit } => ("rootFields", root_fields, limit),
            Self::Cost { cost, limit, .. } => ("cost", cost, limit),
        };
        let mut extensions = json!({ "code": "BAD_USER_INPUT", "reason": self.reason() });
        extensions[figure] = json!(capped(*value));
        extensions["limit"] = json!(limit);
        if let Self::Recursion { field, .. } = self {
            extensions["coordinate"] = json!(field);
        }
        json!({ "errors": [{ "message": self.message(), "extensions": extensions }] })
    }
}

/// The largest integer a JSON number (an IEEE double) holds exactly.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

fn capped(figure: u64) -> u64 {
    figure.min(MAX_SAFE_INTEGER)
}

impl OperationLimits {
    /// The cost limit of `role`.
    pub fn max_cost(&self, role: Role) -> u64 {
        match role {
            Role::Anonymous => self.max_cost_anonymous,
            Role::SignedIn => self.max_cost_signed_in,
            Role::Admin => self.max_cost_admin,
        }
    }

    /// Checks every request of `batch` (parsing each document once: the parsed document stays
    /// in the request, so async-graphql does not parse it again). A document that does not
    /// parse is left to async-graphql, which answers its parse error without executing it.
    ///
    /// # Errors
    /// The first limit passed, in the order tokens, aliases, root fields, repeats, depth, cost.
    pub fn check(
        &self,
        batch: &mut BatchRequest,
        schema: &SchemaInfo,
        role: Role,
    ) -> Result<(), Refusal> {
        if !self.enabled {
            return Ok(());
        }
        let mut tokens = 0u64;
        for request in batch.iter() {
            tokens = tokens.saturating_add(tokens::count_tokens(&request.query));
        }
        if tokens > self.max_tokens {
            return Err(Refusal::Tokens {
                tokens,
                limit: self.max_tokens,
            });
        }
        let mut total = analysis::Shape::default();
        let mut aliases = 0u64;
        let mut collapse = Vec::new();
        for (position, request) in batch.iter_mut().enumerate() {
            let variables = request.variables.clone();
            let operation_name = request.operation_name.clone();
            let Ok(document) = request.parsed_query() else {
                continue;
            };
            aliases = aliases.saturating_add(analysis::written_aliases(document));
            let shape = shape_of(
                document,
                operation_name.as_deref(),
                &variables,
                schema,
                self,
            );
            if shape.selections > self.max_tokens {
                collapse.push(position);
            }
            if shape.repeats > total.repeats {
                total.repeats = shape.repeats;
                total.repeated_field = shape.repeated_field;
            }
            total.depth = total.depth.max(shape.depth);
            total.root_fields = total.root_fields.saturating_add(shape.root_fields);
            total.cost = total.cost.saturating_add(shape.cost);
        }
        self.compare(aliases, total, role)?;
        for (position, request) in batch.iter_mut().enumerate() {
            if !collapse.contains(&position) {
                continue;
            }
            let variables = request.variables.clone();
            let collapsed = request
                .parsed_query()
                .ok()
                .and_then(|document| fragments::collapse_spreads(document, &variables));
            if let Some(collapsed) = collapsed {
                request.set_parsed_query(collapsed);
            }
        }
        Ok(())
    }

    fn compare(&self, aliases: u64, shape: analysis::Shape, role: Role) -> Result<(), Refusal> {
        if aliases > self.max_aliases {
            return Err(Refusal::Aliases {
                aliases,
                limit: self.max_aliases,
            });
        }
        if shape.root_fields > self.max_root_fields {
            return Err(Refusal::RootFields {
                root_fields: shape.root_fields,
                limit: self.max_root_fields,
            });
        }
        // A cycle is the more telling reason for a deep document, so repeats come first.
        if shape.repeats > self.max_recursion {
            return Err(Refusal::Recursion {
                repeats: shape.repeats,
                limit: self.max_recursion,
                field: shape.repeated_field.unwrap_or_default(),
            });
        }
        if shape.depth > self.max_depth {
            return Err(Refusal::Depth {
                depth: shape.depth,
                limit: self.max_depth,
            });
        }
        let limit = self.max_cost(role);
        if shape.cost > limit {
            return Err(Refusal::Cost {
                cost: shape.cost,
                limit,
                role,
            });
        }
        Ok(())
    }
}

/// The shape of the operation `operation_name` selects; when it selects none unambiguously
/// (async-graphql then refuses the request), the worst figures of all the document's
/// operations, which is never less than what could run.
fn shape_of(
    document: &async_graphql::parser::types::ExecutableDocument,
    operation_name: Option<&str>,
    variables: &async_graphql::Variables,
    schema: &SchemaInfo,
    limits: &OperationLimits,
) -> analysis::Shape {
    let selected = match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => Some(operation),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name),
        (DocumentOperations::Multiple(_), None) => None,
    };
    let operations: Vec<_> = match selected {
        Some(operation) => vec![operation],
        None => document.operations.iter().map(|(_, op)| op).collect(),
    };
    let mut worst = analysis::Shape::default();
    for operation in operations {
        let shape = analysis::analyse(
            document,
            &operation.node,
            variables,
            schema,
            limits.default_list_size,
        );
        if shape.repeats > worst.repeats {
            worst.repeats = shape.repeats;
            worst.repeated_field = shape.repeated_field.clone();
        }
        worst.depth = worst.depth.max(shape.depth);
        worst.root_fields = worst.root_fields.max(shape.root_fields);
        worst.cost = worst.cost.max(shape.cost);
        worst.selections = worst.selections.max(shape.selections);
    }
    worst
}
