// Builds the single-file browser bundle (an IIFE that defines the global `PubSub`), minified, with
// its source map, with esbuild.
//   node scripts/bundle.mjs          writes dist/pubsub-client.js and dist/pubsub-client.js.map
//   node scripts/bundle.mjs --host   also copies both to the PubSub.Host's wwwroot, where the Host serves them
//   node scripts/bundle.mjs --check  fails when the Host's copies differ from a fresh build (run by ./test.sh)
// The Host's copies are committed (marked generated in .gitattributes) so that `dotnet run` serves
// the client on a machine without Node.
import { build } from "esbuild";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const hostFolder = join(root, "..", "server", "PubSub.Host", "wwwroot");
const distFolder = join(root, "dist");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

const result = await build({
  entryPoints: [join(root, "src", "index.ts")],
  // The output is named as if it sat in client-js/, so the map's sources read `src/PubSubClient.ts`
  // wherever the files are copied; the sources' text is inside the map, so no path has to resolve.
  outfile: join(root, "pubsub-client.js"),
  absWorkingDir: root,
  bundle: true,
  format: "iife",
  globalName: "PubSub",
  target: "es2018",
  platform: "browser",
  minify: true,
  sourcemap: "linked",
  write: false,
  legalComments: "none",
  banner: {
    js: `/* ${pkg.name} ${pkg.version}: the PubSub browser client (global \`PubSub\`). Generated from client-js/src by ` +
      "`npm run bundle:host`; do not edit. */",
  },
});
// esbuild gives the map first or second depending on the version; find each by its name.
const outputs = result.outputFiles.map((file) => ({ name: basename(file.path), contents: file.contents }));

mkdirSync(distFolder, { recursive: true });
for (const output of outputs) {
  writeFileSync(join(distFolder, output.name), output.contents);
}

if (process.argv.includes("--host")) {
  for (const output of outputs) {
    const copy = join(hostFolder, output.name);
    writeFileSync(copy, output.contents);
    console.log(`Wrote ${relative(process.cwd(), copy)} (${output.contents.length} bytes)`);
  }
}

if (process.argv.includes("--check")) {
  let stale = false;
  for (const output of outputs) {
    const copy = join(hostFolder, output.name);
    const committed = existsSync(copy) ? readFileSync(copy) : null;
    if (committed === null || !Buffer.from(output.contents).equals(committed)) {
      console.error(`${relative(process.cwd(), copy)} is ${committed === null ? "missing" : "stale"}: it differs from a fresh build of client-js/src.`);
      stale = true;
    } else {
      console.log(`${relative(process.cwd(), copy)} matches a fresh build (${output.contents.length} bytes).`);
    }
  }
  if (stale) {
    console.error("Run `npm run bundle:host` in client-js and commit the result.");
    process.exit(1);
  }
}
