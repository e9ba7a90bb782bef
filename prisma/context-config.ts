// Prisma CLI configuration shared by every context: one schema and migrations folder per context,
// each reached as that context's own PostgreSQL role. Prisma 6.19 runs offline only through its
// Wasm schema engine over a driver adapter (docs/adr/0005), hence `engine: 'js'`.
import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { PrismaPg } from '@prisma/adapter-pg';

export function contextPrismaConfig(context: string, dir: string) {
  const urlVar = `${context.toUpperCase()}_DATABASE_URL`;
  return defineConfig({
    experimental: { adapter: true },
    engine: 'js',
    schema: path.join(dir, 'schema.prisma'),
    migrations: { path: path.join(dir, 'migrations') },
    async adapter() {
      const connectionString = process.env[urlVar];
      if (!connectionString) throw new Error(`${urlVar} is not set (scripts/prisma.mjs sets it)`);
      return new PrismaPg({ connectionString }, { schema: context });
    },
  });
}
