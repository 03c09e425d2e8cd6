import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/**
 * Where the Experiment CRD's spec schema comes from: `experimentSpecSchema` exported by
 * `operator/experiment-spec.ts` (the experiment engine's own zod schema), so the CRD and the
 * engine can never disagree.
 *
 * TODO(#7): the operator issue has not landed that file yet. Until it does, the import is
 * resolved at run time and a placeholder (any object) is used, and `experimentSpecIsPlaceholder`
 * says so; once the file exists, replace this with
 * `export { experimentSpecSchema } from '../operator/experiment-spec.ts';`.
 */
const specModule = new URL('../operator/experiment-spec.ts', import.meta.url);

export const experimentSpecIsPlaceholder = !existsSync(fileURLToPath(specModule));

const placeholder = z.looseObject({}).describe('placeholder until operator/experiment-spec.ts exists');

export const experimentSpecSchema: z.ZodType = experimentSpecIsPlaceholder
  ? placeholder
  : ((await import(specModule.href)) as { experimentSpecSchema: z.ZodType }).experimentSpecSchema;
