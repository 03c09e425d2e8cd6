#!/usr/bin/env node
// The chat4all command: runs the TypeScript CLI through tsx's loader.
import { register } from 'tsx/esm/api';

register();
await import('../services/cli/main.ts');
