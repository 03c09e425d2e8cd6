export { experimentSpecSchema } from '../operator/experiment-spec.ts';
/** Kept until `cdk8s/main.ts` stops asking: the schema is the engine's own now. */
export const experimentSpecIsPlaceholder = false;
