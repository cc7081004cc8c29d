// Checks that `npm pack` makes a package a user could publish: its metadata, that every entry
// point it names is inside it, and that nothing of the repository's own (tests, scripts, configs)
// is. Run by ./test.sh after the build (`npm run check:pack`); exits non-zero with what is wrong.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
// --ignore-scripts: the build ran just before; prepack would only build again.
const output = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts", "--loglevel=error"], { cwd: root, encoding: "utf8" });
const [pack] = JSON.parse(output);
const files = new Set(pack.files.map((file) => file.path));
const problems = [];
const need = (condition, problem) => {
  if (!condition) {
    problems.push(problem);
  }
};

need(pack.name === pkg.name && /^@[a-z0-9-]+\/[a-z0-9-]+$/.test(pack.name), `the name '${pack.name}' is not a scoped npm name`);
need(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(pack.version), `the version '${pack.version}' is not semver`);
need(pkg.license === "MIT", "license is not MIT");
need(typeof pkg.description === "string" && pkg.description.length > 20, "no description");
need(Array.isArray(pkg.keywords) && pkg.keywords.length >= 3, "fewer than 3 keywords");
need(pkg.repository?.type === "git" && /^git\+https:\/\/github\.com\/.+\.git$/.test(pkg.repository?.url ?? ""), "repository is not a git URL");
need(pkg.repository?.directory === "client-js", "repository.directory is not client-js");
need(pkg.private !== true, "the package is private");

for (const file of ["package.json", "README.md", "LICENSE", "dist/esm/index.js", "dist/esm/index.d.ts", "dist/pubsub-client.js", "dist/pubsub-client.js.map"]) {
  need(files.has(file), `${file} is not in the package`);
}

// Every entry point the package names must be a file it ships.
const targets = [pkg.main, pkg.module, pkg.types, pkg.unpkg, pkg.jsdelivr];
const collect = (value) => {
  if (typeof value === "string") {
    targets.push(value);
  } else if (value !== null && typeof value === "object") {
    Object.values(value).forEach(collect);
  }
};
collect(pkg.exports);
need(typeof pkg.exports?.["./bundle"] === "string", "no export for the browser bundle ('./bundle')");
for (const target of targets.filter((target) => target !== undefined)) {
  need(files.has(target.replace(/^\.\//, "")), `${target}, named in package.json, is not in the package`);
}

for (const file of files) {
  need(!/^(test|scripts|node_modules|test-results)\//.test(file) && !/^(tsconfig.*|vitest\.config\.ts|package-lock\.json)$/.test(file),
    `${file} belongs to the repository, not the package`);
}

// The bundle is the minified build with its map beside it.
const bundle = readFileSync(join(root, "dist", "pubsub-client.js"), "utf8");
need(bundle.trimEnd().endsWith("//# sourceMappingURL=pubsub-client.js.map"), "the bundle does not link its source map");
need(bundle.split("\n").length < 10, "the bundle is not minified");

if (problems.length > 0) {
  console.error(`npm pack would make a package that is not ready to publish:\n- ${problems.join("\n- ")}`);
  process.exit(1);
}
console.log(`${pack.filename}: ${pack.entryCount} files, ${pack.size} bytes packed; metadata and entry points check out.`);
