// Bundle the audit console (web/) into api/static/audit/ with esbuild: one script, one style
// sheet, the page. Everything comes from node_modules; nothing is fetched when the page runs.
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "api", "static", "audit");
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, "web", "src", "app", "main.js")],
  outfile: join(out, "app.js"),
  bundle: true,
  format: "iife",
  platform: "browser",
  target: "es2022",
  minify: true,
  legalComments: "linked", // the licences of the bundled noble, canonicalize and dagre code
  logLevel: "warning",
});
copyFileSync(join(root, "web", "audit.html"), join(out, "audit.html"));
copyFileSync(join(root, "web", "src", "app", "app.css"), join(out, "app.css"));
console.log(`audit console built in ${out}`);
