// Demo tooling (npm start, the seeds) refuses production mode before touching anything: demo data
// (known passwords, sandbox orders) must never reach a production database. Node built-ins only, so
// `npm start` can run it before dependencies are installed; the built seeds use the kit's twin.
export function refuseInProduction(what, env = process.env) {
  if (env.COURSEGRAPH_MODE !== 'production') return;
  process.stderr.write(
    `${what} refuses to run with COURSEGRAPH_MODE=production: it writes demo data (known passwords, sandbox orders).\n`,
  );
  process.exit(2);
}
