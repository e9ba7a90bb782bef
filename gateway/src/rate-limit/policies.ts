/**
 * The rate-limit policy table: the whole endpoint per client IP and per signed-in user, and
 * stricter limits on the root fields an attacker would repeat (guessing passwords, creating
 * accounts, enrolment churn, card testing and coupon guessing). A root field is counted once per
 * occurrence, so aliases cannot multiply attempts.
 */
import { Kind, type DocumentNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';

/** Who a policy counts: the client IP, or the signed-in user (the IP for anonymous callers). */
export type PolicyScope = 'ip' | 'user-or-ip';

export interface Policy {
  /** Named in the RateLimit headers and in refusals. */
  name: string;
  limit: number;
  windowSeconds: number;
  scope: PolicyScope;
}

export interface FieldPolicy extends Policy {
  /** Root fields it counts, as `<operation type>.<field>` (`mutation.logIn`). */
  fields: string[];
}

export interface PolicyTable {
  /** Every request, per client IP. */
  ip: Policy;
  /** Every request of a signed-in user, per user (whatever IP it comes from). */
  user: Policy;
  fields: FieldPolicy[];
}

export interface PolicyLimits {
  /** Requests per minute per client IP. */
  ipPerMinute: number;
  /** Requests per minute per signed-in user. */
  userPerMinute: number;
  /** logIn, signUp and refreshSession per minute per client IP. */
  authPerMinute: number;
  /** enrol and unenrol per minute per user. */
  enrolPerMinute: number;
  /** checkout and coupon look-ups per minute per user. */
  checkoutPerMinute: number;
}

export function policyTable(limits: PolicyLimits): PolicyTable {
  return {
    ip: { name: 'ip', limit: limits.ipPerMinute, windowSeconds: 60, scope: 'ip' },
    user: { name: 'user', limit: limits.userPerMinute, windowSeconds: 60, scope: 'user-or-ip' },
    fields: [
      // Per IP: these are called before anyone is signed in. Identity also locks out per email and IP.
      {
        name: 'auth',
        fields: ['mutation.logIn', 'mutation.signUp', 'mutation.refreshSession'],
        limit: limits.authPerMinute,
        windowSeconds: 60,
        scope: 'ip',
      },
      {
        name: 'enrol',
        fields: ['mutation.enrol', 'mutation.unenrol'],
        limit: limits.enrolPerMinute,
        windowSeconds: 60,
        scope: 'user-or-ip',
      },
      // Coupon codes can be guessed and cards tested: both per user.
      {
        name: 'checkout',
        fields: ['mutation.checkout', 'query.coupon'],
        limit: limits.checkoutPerMinute,
        windowSeconds: 60,
        scope: 'user-or-ip',
      },
    ],
  };
}

/**
 * How many times each root field of the operation to run is executed (`mutation.logIn` → 3): once
 * per distinct response key (alias or name), through fragments too, since GraphQL merges selections
 * with the same key and runs distinct aliases separately. @skip/@include are not evaluated: a field
 * that might run is counted.
 */
export function rootFieldCounts(document: DocumentNode, operationName?: string | null): Map<string, number> {
  const keys = new Map<string, Set<string>>();
  const operations = document.definitions.filter(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  );
  const operation = operationName
    ? operations.find((o) => o.name?.value === operationName)
    : operations.length === 1
      ? operations[0]
      : undefined;
  if (!operation) return new Map();
  const fragments = new Map(
    document.definitions.flatMap((d) =>
      d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d.selectionSet] as const] : [],
    ),
  );
  const visit = (selectionSet: SelectionSetNode, seen: Set<string>) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const field = `${operation.operation}.${selection.name.value}`;
        let responseKeys = keys.get(field);
        if (!responseKeys) keys.set(field, (responseKeys = new Set()));
        responseKeys.add(selection.alias?.value ?? selection.name.value);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        visit(selection.selectionSet, seen);
      } else {
        const fragment = fragments.get(selection.name.value);
        // A cycle (invalid anyway) stops.
        if (fragment && !seen.has(selection.name.value)) visit(fragment, new Set(seen).add(selection.name.value));
      }
    }
  };
  visit(operation.selectionSet, new Set());
  return new Map([...keys].map(([field, responseKeys]) => [field, responseKeys.size]));
}
