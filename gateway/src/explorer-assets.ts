/**
 * The explorer's static files, served by the gateway itself under /explorer/assets/: GraphiQL's
 * script, styles, Monaco's web workers and favicon from @graphql-yoga/render-graphiql (which
 * bundles them all, at the version of graphql-yoga), and the explorer's own small scripts and
 * styles. Nothing comes from another origin, so the pages run under a CSP of 'self' (explorer.ts)
 * and work on a network without internet.
 *
 * GraphiQL's files are public package code, so they are served to anyone, like the sign-in page's.
 * They weigh about 9 MB: loaded on the first request for one, compressed once, then answered with
 * an ETag (a revalidation costs a 304).
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { EXPLORER_HEADER } from './request-auth.js';

export const ASSETS_PATH = '/explorer/assets/';

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** The labels GraphiQL asks Monaco's environment for, and the file serving each worker. */
const WORKERS = { editorWorkerService: 'editor.worker.js', json: 'json.worker.js', graphql: 'graphql.worker.js' };

/** The sign-in page's script: a JSON sign-in (so a cross-site form cannot post it), then reload into the explorer. */
const SIGN_IN_JS = `document.getElementById('f').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const res = await fetch('/explorer/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json', '${EXPLORER_HEADER}': '1' },
    body: JSON.stringify({ email: form.get('email'), password: form.get('password') }),
  });
  if (res.ok) location.reload();
  else document.getElementById('error').textContent = (await res.json()).error;
});
`;

/**
 * The explorer page's script, run after GraphiQL's: Monaco's workers from this origin (render-graphiql's
 * own page makes them blob: URLs), GraphiQL with the options the page carries, and the sign-out button.
 */
const EXPLORER_JS = `const workers = ${JSON.stringify(Object.fromEntries(Object.entries(WORKERS).map(([label, file]) => [label, ASSETS_PATH + file])))};
self.MonacoEnvironment = {
  globalAPI: false,
  getWorkerUrl: (_moduleId, label) => workers[label] ?? workers.editorWorkerService,
};
const options = JSON.parse(document.getElementById('graphiql-options').textContent);
YogaGraphiQL.renderYogaGraphiQL(document.getElementById('root'), options);
document.getElementById('sign-out').addEventListener('click', async () => {
  // Ends the session in identity and drops the cookie; the reload then gets the sign-in page.
  await fetch('/explorer/logout', { method: 'POST', headers: { '${EXPLORER_HEADER}': '1' } }).catch(() => null);
  location.reload();
});
`;

/** The sign-in page's styles; on the explorer's page, a bar with the sign-out button above GraphiQL (which would fill the viewport). */
const EXPLORER_CSS = `body.sign-in{font:16px system-ui,sans-serif;max-width:22rem;margin:4rem auto}
body.sign-in input,body.sign-in button{display:block;box-sizing:border-box;width:100%;margin:.4rem 0;padding:.5rem}
#error{color:#b00}
html,body.explorer{height:100%;margin:0}
body.explorer{display:flex;flex-direction:column}
body.explorer>header{display:flex;align-items:center;justify-content:space-between;padding:.3rem 1rem;font:14px system-ui,sans-serif;border-bottom:1px solid #ddd}
body.explorer>#root{flex:1;min-height:0}
body.explorer .graphiql-container{height:100%;width:100%}
`;

interface Asset {
  type: string;
  body: Uint8Array<ArrayBuffer>;
  gzipped: Uint8Array<ArrayBuffer>;
  etag: string;
}

const compress = promisify(gzip);

async function asset(type: string, content: string | Buffer): Promise<Asset> {
  const body = typeof content === 'string' ? Buffer.from(content) : content;
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  // Copies into plain ArrayBuffers, which a Response body takes.
  return { type, body: new Uint8Array(body), gzipped: new Uint8Array(await compress(body)), etag };
}

async function loadAssets(): Promise<Map<string, Asset>> {
  const graphiql = await import('@graphql-yoga/render-graphiql/graphiql');
  const favicon = Buffer.from(graphiql.favicon.slice(graphiql.favicon.indexOf(',') + 1), 'base64');
  const files: [string, string, string | Buffer][] = [
    ['graphiql.js', JS, graphiql.js],
    ['graphiql.css', CSS, graphiql.css],
    [WORKERS.editorWorkerService, JS, graphiql.editorWorkerService],
    [WORKERS.json, JS, graphiql.jsonWorker],
    [WORKERS.graphql, JS, graphiql.graphqlWorker],
    ['favicon.ico', 'image/x-icon', favicon],
    ['explorer.js', JS, EXPLORER_JS],
    ['sign-in.js', JS, SIGN_IN_JS],
    ['explorer.css', CSS, EXPLORER_CSS],
  ];
  return new Map(
    await Promise.all(files.map(async ([name, type, content]) => [name, await asset(type, content)] as const)),
  );
}

let assets: Promise<Map<string, Asset>> | null = null;

/** The response for GET /explorer/assets/<name>, or null when there is no such file. */
export async function assetResponse(request: Request, name: string): Promise<Response | null> {
  assets ??= loadAssets();
  const file = (await assets).get(name);
  if (!file) return null;
  const headers: Record<string, string> = {
    'content-type': file.type,
    etag: file.etag,
    // Revalidated on each page load (one 304), so a new gateway's files are never stale.
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    vary: 'accept-encoding',
  };
  if (request.headers.get('if-none-match') === file.etag) return new Response(null, { status: 304, headers });
  const gzipped = /\bgzip\b/.test(request.headers.get('accept-encoding') ?? '');
  return new Response(gzipped ? file.gzipped : file.body, {
    status: 200,
    headers: gzipped ? { ...headers, 'content-encoding': 'gzip' } : headers,
  });
}
