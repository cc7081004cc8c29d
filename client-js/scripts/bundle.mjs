// Builds the single-file browser bundle (an IIFE that defines the global `PubSub`) with esbuild.
//   node scripts/bundle.mjs          writes dist/pubsub-client.js
//   node scripts/bundle.mjs --host   also copies it to the PubSub.Host's wwwroot, where the Host serves it
//   node scripts/bundle.mjs --check  fails when the Host's copy differs from a fresh build (run by ./test.sh)
import { build } from "esbuild";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const hostCopy = join(root, "..", "server", "PubSub.Host", "wwwroot", "pubsub-client.js");
const output = join(root, "dist", "pubsub-client.js");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

const result = await build({
  entryPoints: [join(root, "src", "index.ts")],
  bundle: true,
  format: "iife",
  globalName: "PubSub",
  target: "es2018",
  platform: "browser",
  write: false,
  legalComments: "none",
  banner: {
    js: `/* ${pkg.name} ${pkg.version}: the PubSub browser client (global \`PubSub\`). Generated from client-js/src by ` +
      "`npm run bundle:host`; do not edit. */",
  },
});
const bundle = result.outputFiles[0].contents;

mkdirSync(dirname(output), { recursive: true });
writeFileSync(output, bundle);

if (process.argv.includes("--host")) {
  writeFileSync(hostCopy, bundle);
  console.log(`Wrote ${relative(process.cwd(), hostCopy)} (${bundle.length} bytes)`);
}

if (process.argv.includes("--check")) {
  const committed = existsSync(hostCopy) ? readFileSync(hostCopy) : null;
  if (committed === null || !Buffer.from(bundle).equals(committed)) {
    console.error(`${relative(process.cwd(), hostCopy)} is ${committed === null ? "missing" : "stale"}: it differs from a fresh build of client-js/src.\n` +
      "Run `npm run bundle:host` in client-js and commit the result.");
    process.exit(1);
  }
  console.log(`${relative(process.cwd(), hostCopy)} matches a fresh build (${bundle.length} bytes).`);
}
