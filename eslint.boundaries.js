/**
 * The import layers of Chat4All, as `import-x/no-restricted-paths` zones (docs/architecture.md
 * draws them). A zone says: files under `target` may not import from `from`, except `except`
 * (relative to `from`).
 *
 * - `services/core/domain` imports nothing of ours; `services/core/ports` only the domain.
 * - `services/core` imports no service; `services/lib` (libraries that know nothing of Chat4All)
 *   imports nothing of ours.
 * - A service imports `core` and `lib`, never another service, with these exceptions:
 *   - `api` and `router` host the client-webhook module (`services/webhooks`: the API serves its
 *     routes, each router runs its dispatcher); `webhooks` itself imports only `core`.
 *   - `platform` (the local supervisor and the one-process platform) starts every service.
 *   - `cli` (the people's command) drives the local platform.
 * - The provider simulator stands for the outside world (Meta): it imports nothing from
 *   `services/core` or any service, only `lib`.
 * - `operator/` sees the platform only through its drivers (`*-driver.ts`): the rest of it may
 *   use `core` and `lib`, never a service.
 * - `cdk8s/` takes names from `core` only.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root: zones are relative to it, wherever ESLint runs from. */
export const BASE_PATH = dirname(fileURLToPath(import.meta.url));

/** The folders of `services/` that are services (or modules) and not shared layers. */
export const SERVICES = ['api', 'router', 'connectors', 'webhooks', 'gateway', 'provider-sim', 'devbroker', 'platform', 'cli'];

/** Services another service may import, beyond `core` and `lib` (see above for why). */
const MAY_ALSO_IMPORT = {
  api: ['webhooks'],
  router: ['webhooks'],
  platform: SERVICES.filter((s) => s !== 'platform' && s !== 'cli'),
  cli: ['platform'],
  // The simulator is the outside world: not even core.
  'provider-sim': [],
};

const OUTSIDE_SERVICES = ['./operator', './loadtest', './bench', './cdk8s', './test', './bin'];

const serviceZones = SERVICES.map((service) => {
  const shared = service === 'provider-sim' ? ['./lib'] : ['./core', './lib'];
  const allowed = [...(MAY_ALSO_IMPORT[service] ?? [])];
  return {
    target: `./services/${service}`,
    from: './services',
    except: [`./${service}`, ...shared, ...allowed.map((s) => `./${s}`)],
    message:
      service === 'provider-sim'
        ? 'the provider simulator stands for the outside world: it imports nothing of the platform (only services/lib)'
        : `services never import each other: ${service} may use services/core and services/lib${allowed.length ? ` (and ${allowed.join(', ')})` : ''}; see eslint.boundaries.js`,
  };
});

export const boundaryZones = [
  {
    target: './services/core/domain',
    from: './services',
    except: ['./core/domain'],
    message: 'the domain is plain TypeScript: it imports nothing of ours but the domain',
  },
  ...OUTSIDE_SERVICES.map((from) => ({ target: './services/core/domain', from, message: 'the domain imports nothing of ours but the domain' })),
  {
    target: './services/core/ports',
    from: './services',
    except: ['./core/ports', './core/domain'],
    message: 'ports import only the domain (and other ports)',
  },
  {
    target: './services/core',
    from: './services',
    except: ['./core', './lib'],
    message: 'core imports no service: pass what it needs in (a port, an option) from the composition root',
  },
  ...OUTSIDE_SERVICES.map((from) => ({ target: './services/core', from, message: 'core imports nothing outside services/core and services/lib' })),
  {
    target: './services/lib',
    from: './services',
    except: ['./lib'],
    message: 'services/lib holds libraries that know nothing of Chat4All: they import nothing of ours',
  },
  ...serviceZones,
  {
    target: './operator/**/!(*-driver).ts',
    from: './services',
    except: ['./core', './lib'],
    message: 'the operator sees the platform only through its drivers (operator/*-driver.ts)',
  },
  {
    target: './cdk8s',
    from: './services',
    except: ['./core'],
    message: 'cdk8s takes names and shapes from services/core only',
  },
];
