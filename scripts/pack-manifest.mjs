// The package.json that `npm pack` (and so `npm publish`) ships, without the `prepare` script.
//
// `prepare` builds a clone on `npm ci` / `npm install`; in a packed package it has nothing to do
// (dist/ is in the tarball, src/ is not), and npm 11 lists it among the install scripts of every
// install of the package, to be approved. So `prepack` strips it after building, and `postpack`
// puts package.json back as it was (the pinst approach). Usage: node scripts/pack-manifest.mjs strip|restore
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const MANIFEST = new URL('../package.json', import.meta.url);
const BACKUP = new URL('../package.json.prepack', import.meta.url);

const action = process.argv[2];
if (action === 'strip') {
  if (existsSync(BACKUP)) {
    process.stderr.write('pack-manifest: package.json.prepack exists (an earlier pack did not finish?): run "node scripts/pack-manifest.mjs restore" first\n');
    process.exit(1);
  }
  const text = readFileSync(MANIFEST, 'utf8');
  const manifest = JSON.parse(text);
  writeFileSync(BACKUP, text);
  delete manifest.scripts.prepare;
  writeFileSync(MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`);
} else if (action === 'restore') {
  if (existsSync(BACKUP)) renameSync(BACKUP, MANIFEST);
} else {
  process.stderr.write('usage: node scripts/pack-manifest.mjs strip|restore\n');
  process.exit(2);
}
