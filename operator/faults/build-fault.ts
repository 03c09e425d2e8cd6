import type { ExperimentSpec } from '../experiment-spec.ts';
import { brokerOutageFault } from './broker-outage.ts';
import type { FaultModule } from './fault.ts';
import { killFault } from './kill.ts';
import { providerOutageFault } from './provider-outage.ts';
import { scaleFault } from './scale.ts';

/** The module of the experiment's fault: the one place that switches on `fault.type`. */
export function buildFault(spec: ExperimentSpec): FaultModule {
  const f = spec.fault;
  switch (f.type) {
    case 'kill':
      return killFault(spec, f);
    case 'scale':
      return scaleFault(spec, f);
    case 'provider-outage':
      return providerOutageFault(spec, f);
    case 'broker-outage':
      return brokerOutageFault(spec, f);
  }
}
