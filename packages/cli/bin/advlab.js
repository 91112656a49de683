#!/usr/bin/env node
// advlab is written in TypeScript and runs through tsx's loader (no build step).
import { register } from 'tsx/esm/api';
register();
const { run } = await import('../src/main.ts');
process.exitCode = await run(process.argv.slice(2));
