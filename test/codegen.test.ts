/**
 * The build regenerates resolver types from each subgraph's SDL before `tsc -b`, so they are never
 * stale; this shows the other half: a resolver that does not match the SDL fails type-checking.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const generated = path.resolve(import.meta.dirname, '../subgraphs/identity/src/generated/resolvers-types.js');

function typeErrors(source: string): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'codegen-probe-'));
  const file = path.join(dir, 'probe.ts');
  fs.writeFileSync(file, source.replace('GENERATED', generated));
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
  });
  const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName === file);
  fs.rmSync(dir, { recursive: true, force: true });
  return diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe('generated resolver types', () => {
  it('accept resolvers that match the SDL', () => {
    expect(
      typeErrors(`
      import type { UserResolvers } from 'GENERATED';
      export const User: UserResolvers = { active: (user) => user.deactivatedAt === null, name: (user) => user.name };
    `),
    ).toEqual([]);
  });

  it('reject a resolver whose return type does not match the SDL', () => {
    const errors = typeErrors(`
      import type { UserResolvers } from 'GENERATED';
      export const User: UserResolvers = { active: () => 'yes' };
    `);
    expect(errors.join('\n')).toMatch(/not assignable/);
  });

  it('reject a resolver for a field the SDL does not have', () => {
    const errors = typeErrors(`
      import type { QueryResolvers } from 'GENERATED';
      export const Query: QueryResolvers = { everyone: () => [] };
    `);
    expect(errors.join('\n')).toMatch(/everyone/);
  });
});
