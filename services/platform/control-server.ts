import express from 'express';
import { z } from 'zod';
import type { Supervisor } from './supervisor.ts';
import { PROBLEM_CONTENT_TYPE } from '../core/problem.ts';
import { requireToken, sameOriginOnly } from './control-guard.ts';

const killBody = z.object({ signal: z.enum(['KILL', 'TERM']).default('KILL') });
const scaleBody = z.object({ role: z.literal('router'), replicas: z.number().int().min(1) });
const brokerBody = z.object({ action: z.enum(['down', 'up', 'rtt']), ms: z.number().int().min(0).max(60000).optional() });

/**
 * The supervisor's server on loopback (`make up`, :8079): the live view (`routes`, read-only) and the
 * control API under `/control`, which requires the bearer token of the state file. Nothing from
 * another site gets through (`sameOriginOnly`): a web page the developer opens cannot drive it.
 */
export function createControlApp(options: { token: string; routes: express.Router; control: express.Router }): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(sameOriginOnly());
  app.use(options.routes);
  app.use('/control', requireToken(options.token), options.control);
  return app;
}

/**
 * The supervisor's control API on loopback, which `chat4all platform …` and the experiments use:
 * `GET /processes`, `POST /processes/:name/kill {signal}`, `POST /processes/:name/start`,
 * `POST /scale {role, replicas}`, `POST /broker {action, ms}`, `POST /down`.
 */
export function controlRoutes(supervisor: Pick<Supervisor, 'ps' | 'apiUrl' | 'simUrl' | 'streamUrls' | 'bootstrap' | 'kill' | 'startProcess' | 'scale' | 'brokerFault'>, onDown: () => void): express.Router {
  const r = express.Router();
  r.use(express.json({ limit: '16kb' }));
  const problem = (res: express.Response, status: number, detail: string) =>
    res.status(status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify({ type: 'about:blank', title: status === 404 ? 'Not Found' : 'Bad Request', status, detail }));
  const has = (name: string) => supervisor.ps().some((p) => p.name === name);

  r.get('/processes', (_req, res) => {
    res.json({ processes: supervisor.ps(), api_url: supervisor.apiUrl, sim_url: supervisor.simUrl, stream_urls: supervisor.streamUrls, bootstrap: supervisor.bootstrap });
  });
  r.post('/processes/:name/kill', async (req, res) => {
    if (!has(req.params.name)) return problem(res, 404, `no process named ${req.params.name}`);
    const body = killBody.safeParse(req.body ?? {});
    if (!body.success) return problem(res, 400, 'signal must be KILL or TERM');
    res.json(await supervisor.kill(req.params.name, body.data.signal));
  });
  r.post('/processes/:name/start', async (req, res) => {
    if (!has(req.params.name)) return problem(res, 404, `no process named ${req.params.name}`);
    try {
      res.json(await supervisor.startProcess(req.params.name));
    } catch (err) {
      problem(res, 500, (err as Error).message);
    }
  });
  r.post('/scale', async (req, res) => {
    const body = scaleBody.safeParse(req.body ?? {});
    if (!body.success) return problem(res, 400, 'expected {"role":"router","replicas":n}');
    try {
      res.json({ processes: await supervisor.scale(body.data.role, body.data.replicas) });
    } catch (err) {
      problem(res, 400, (err as Error).message);
    }
  });
  r.post('/broker', async (req, res) => {
    const body = brokerBody.safeParse(req.body ?? {});
    if (!body.success) return problem(res, 400, 'expected {"action":"down"|"up"|"rtt","ms"?}');
    try {
      await supervisor.brokerFault(body.data.action, body.data.ms);
      res.json({ ok: true });
    } catch (err) {
      problem(res, 409, (err as Error).message);
    }
  });
  r.post('/down', (_req, res) => {
    res.status(202).json({ stopping: true });
    onDown();
  });
  return r;
}
