#!/usr/bin/env node
// Runs the built CLI (dist/, made by `npm ci` through `prepare`); in a checkout without dist/, the TypeScript source through tsx.
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli.js', import.meta.url);
if (existsSync(built)) {
  const { main } = await import(built.href);
  await main();
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import(new URL('../src/cli.ts', import.meta.url).href);
  await main();
}
