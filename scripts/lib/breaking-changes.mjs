// The breaking-change check (`npm run check:supergraph`, after the supergraph guard): the candidate
// supergraph's API schema is compared with the last release's (schema/releases/<date>.graphql) by
// GraphQL Inspector's `diff`. A BREAKING change fails the check unless it removes an element that the
// last release marked `@deprecated` with a removal date that has passed (docs/versioning.md):
//   @deprecated(reason: "Use slug. Removal after 2027-03-01.")
// A type may go once every field (or enum value) it had was so deprecated. Any other breaking change
// (a type changed, a required argument added) is never allowed: add the new element beside the old.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isEnumType, isInputObjectType, isInterfaceType, isObjectType } from 'graphql';
import { CriticalityLevel, diff } from '@graphql-inspector/core';
import { ROOT } from './env.mjs';

export const RELEASES_DIR = path.join(ROOT, 'schema/releases');
const RELEASE_FILE = /^(\d{4}-\d{2}-\d{2})\.graphql$/;
/** The date a deprecation's reason must state, as `Removal after YYYY-MM-DD`. */
const REMOVAL_DATE = /Removal after (\d{4}-\d{2}-\d{2})\b/i;
/** The changes a passed deprecation may excuse: removals only. */
const REMOVALS = new Set([
  'FIELD_REMOVED',
  'INPUT_FIELD_REMOVED',
  'ENUM_VALUE_REMOVED',
  'FIELD_ARGUMENT_REMOVED',
  'TYPE_REMOVED',
]);

/** The newest release: `{ date, file }`, or null when none was cut. */
export function latestRelease(dir = RELEASES_DIR) {
  if (!fs.existsSync(dir)) return null;
  const dates = fs
    .readdirSync(dir)
    .map((name) => RELEASE_FILE.exec(name)?.[1])
    .filter(Boolean)
    .sort();
  const date = dates.at(-1);
  return date ? { date, file: path.join(dir, `${date}.graphql`) } : null;
}

/** service-kit as built (npm run build): the same API schema the gateway serves. */
async function apiSchemaOf(supergraphSdl) {
  const file = path.join(ROOT, 'packages/service-kit/dist/index.js');
  if (!fs.existsSync(file)) throw new Error('packages/service-kit/dist not found: run `npm run build` first');
  const kit = await import(pathToFileURL(file).href);
  return kit.apiSchemaOf(supergraphSdl);
}

/**
 * What the release said of the element at `coordinate` (`Type.field`, `Type.field.arg`, `Enum.VALUE`):
 * `{ removable: true }` when it was deprecated with a removal date before `today`, otherwise
 * `{ removable: false, why }`.
 */
function deprecationOf(schema, coordinate, today) {
  const [typeName, member, argName] = coordinate.split('.');
  const type = schema.getType(typeName);
  if (!type) return { removable: false, why: `${typeName} is not in the release` };
  if (!member) {
    // A type carries no @deprecated of its own: it may go once all of its members may.
    const members = isEnumType(type)
      ? type.getValues().map((v) => `${typeName}.${v.name}`)
      : isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)
        ? Object.keys(type.getFields()).map((f) => `${typeName}.${f}`)
        : [];
    if (members.length === 0) return { removable: false, why: `${typeName} has no fields to deprecate` };
    const kept = members.map((m) => deprecationOf(schema, m, today)).find((d) => !d.removable);
    return kept ?? { removable: true };
  }
  let element;
  if (isEnumType(type)) element = type.getValue(member);
  else if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
    const field = type.getFields()[member];
    element = argName ? field?.args?.find((a) => a.name === argName) : field;
  }
  if (!element) return { removable: false, why: `${coordinate} is not in the release` };
  const reason = element.deprecationReason;
  if (!reason) return { removable: false, why: `${coordinate} was not @deprecated in the release` };
  const date = REMOVAL_DATE.exec(reason)?.[1];
  if (!date) return { removable: false, why: `its deprecation states no "Removal after YYYY-MM-DD" (${reason})` };
  if (date >= today) return { removable: false, why: `it is deprecated until ${date}` };
  return { removable: true, date };
}

/**
 * Compares `candidateSdl` with `releaseSdl` (both supergraphs). Returns `{ breaking, allowed }`:
 * `breaking` lists `{ coordinate, message, why? }` that fail the check, `allowed` the removals a
 * passed deprecation excuses. `today` is `YYYY-MM-DD` (UTC).
 */
export async function breakingChanges(
  candidateSdl,
  releaseSdl,
  { today = new Date().toISOString().slice(0, 10) } = {},
) {
  const release = await apiSchemaOf(releaseSdl);
  const candidate = await apiSchemaOf(candidateSdl);
  const changes = await diff(release, candidate);
  const breaking = [];
  const allowed = [];
  for (const change of changes) {
    if (change.criticality.level !== CriticalityLevel.Breaking) continue;
    const entry = { coordinate: change.path ?? '', message: change.message };
    if (!REMOVALS.has(change.type) || !change.path) {
      breaking.push(entry);
      continue;
    }
    const deprecation = deprecationOf(release, change.path, today);
    if (deprecation.removable) allowed.push(entry);
    else breaking.push({ ...entry, why: deprecation.why });
  }
  return { breaking, allowed };
}

/** The check as compose.mjs --check runs it: `{ ok, lines }`, every line to print. */
export async function checkAgainstLatestRelease(candidateSdl, options = {}) {
  const latest = latestRelease(options.dir);
  if (!latest) return { ok: true, lines: ['breaking changes: no release in schema/releases/ to compare with'] };
  const { breaking, allowed } = await breakingChanges(candidateSdl, fs.readFileSync(latest.file, 'utf8'), options);
  const lines = allowed.map((c) => `breaking changes: allowed, deprecated and past its removal date: ${c.message}`);
  if (breaking.length === 0) {
    lines.push(`breaking changes: none against the release of ${latest.date}`);
    return { ok: true, lines };
  }
  lines.push(
    `breaking changes: ${breaking.length} against the release of ${latest.date} (deprecate first, see docs/versioning.md):`,
    ...breaking.map((c) => `  - ${c.coordinate}: ${c.message}${c.why ? ` (${c.why})` : ''}`),
  );
  return { ok: false, lines };
}
