// The baseline of the search benchmark: PostgreSQL full-text search over the same corpus, in a
// scratch database of its own (created here, dropped by `drop()`).
//
// One row per course and per lesson, like the tantivy index. The tsvector is built with the
// document's language (english or russian; `simple` otherwise) and weighted like tantivy's field
// boosts: title A, tags B, summary/description (a lesson's module title) C, lesson text D; a GIN
// index over it. A query is `websearch_to_tsquery` in English OR in Russian (the query's language
// is unknown, as in the subgraph), filters are plain WHERE clauses, ranking is ts_rank_cd with
// PostgreSQL's default weights {D 0.1, C 0.2, B 0.4, A 1.0}; each query returns the top 20 and
// the total count (no facets, no snippets: the baseline does less work than the subgraph).
import pg from 'pg';
import { performance } from 'node:perf_hooks';

const CHUNK = 2_000;

export async function createBaseline({ adminUrl, database }) {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${database}`);
  await admin.query(`create database ${database}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  const db = new pg.Client({ connectionString: url.toString() });
  await db.connect();

  const drop = async () => {
    await db.end().catch(() => undefined);
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`drop database if exists ${database}`);
    await admin.end();
  };

  /** Loads the corpus and builds the GIN index (replacing what an earlier load built); returns { docs, index_ms }. */
  const load = async (courses, log) => {
    await db.query('drop table if exists search_docs');
    await db.query(`create table search_docs (
      id text primary key, kind text not null, course_id text not null,
      language text not null, category text not null, level text not null, is_free boolean not null,
      tsv tsvector not null)`);
    const rows = [];
    for (const c of courses) {
      const common = [c.id, c.language, c.category, c.level, c.price_minor === 0];
      rows.push(['course', c.id, ...common, c.title, c.tags.join(' '), `${c.summary}\n${c.description}`, '']);
      // The platform's rule: a paid lesson's body is searchable only when it is a free preview.
      for (const l of c.lessons)
        rows.push([
          'lesson',
          l.id,
          ...common,
          l.title,
          '',
          l.module_title,
          c.price_minor === 0 || l.free_preview ? l.body : '',
        ]);
    }
    const started = performance.now();
    for (let i = 0; i < rows.length; i += CHUNK) {
      const chunk = rows.slice(i, i + CHUNK);
      const column = (k) => chunk.map((row) => row[k]);
      await db.query(
        `insert into search_docs (id, kind, course_id, language, category, level, is_free, tsv)
         select id, kind, course_id, language, category, level, is_free,
                setweight(to_tsvector(cfg, title), 'A') || setweight(to_tsvector(cfg, tags), 'B') ||
                setweight(to_tsvector(cfg, summary), 'C') || setweight(to_tsvector(cfg, body), 'D')
         from (select *, (case language when 'en' then 'english' when 'ru' then 'russian' else 'simple' end)::regconfig as cfg
               from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[],
                           $8::text[], $9::text[], $10::text[], $11::text[])
                 as t(kind, id, course_id, language, category, level, is_free, title, tags, summary, body)) s`,
        [
          column(0),
          column(1),
          column(2),
          column(3),
          column(4),
          column(5),
          column(6),
          column(7),
          column(8),
          column(9),
          column(10),
        ],
      );
      if ((i / CHUNK) % 10 === 9) log(`postgres: ${i + chunk.length}/${rows.length} rows`);
    }
    await db.query('create index search_docs_tsv on search_docs using gin (tsv)');
    await db.query('analyze search_docs');
    const indexMs = performance.now() - started;
    return { docs: rows.length, index_ms: indexMs };
  };

  /** One search: { total, top: [{ kind, id }] (first 5), ms }. */
  const search = async ({ query, filter = {} }) => {
    const where = [];
    const params = [query];
    const add = (sql, value) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.category) add('category = ?', filter.category);
    if (filter.level) add('level = ?', filter.level);
    if (filter.language) add('language = ?', filter.language);
    if (filter.isFree !== undefined) add('is_free = ?', filter.isFree);
    const sql = `with q as (select websearch_to_tsquery('english', $1) || websearch_to_tsquery('russian', $1) as query)
      select kind, id, count(*) over () as total
      from search_docs, q
      where tsv @@ q.query ${where.map((w) => `and ${w}`).join(' ')}
      order by ts_rank_cd(tsv, q.query) desc, id
      limit 20`;
    const started = performance.now();
    const res = await db.query(sql, params);
    const ms = performance.now() - started;
    return {
      total: Number(res.rows[0]?.total ?? 0),
      top: res.rows.slice(0, 5).map(({ kind, id }) => ({ kind, id })),
      ms,
    };
  };

  return { load, search, drop };
}
