#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx: no build step stands between a change and
// `npm start`. Type checking is `npm run typecheck`.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
