import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FakeKubeApi, FakeKubeOptions } from './fake-kube-api.ts';

/*
 * The platform side of an experiment, faked for the operator's tests: one loopback server that
 * answers as the Chat4All API (register, token, identities, conversations, messages: 202) and
 * as the provider simulator (`/_sim/received`, `/_sim/stats`, `/_sim/faults`), delivering every
 * accepted message at once; and one `/metrics` server per router pod of the fake Kubernetes API,
 * where each ready router reports its share of the partitions (what the engine waits for).
 */

const ACCEPTED_TOPIC = 'chat4all.messages.accepted';

interface Receipt {
  channel: string;
  to: string;
  text?: string;
  at: string;
  index: number;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

function listenLoopback(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port }));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export class FakePlatform {
  readonly received: Receipt[] = [];
  /** Messages the API accepted. */
  accepted = 0;
  private readonly podServers = new Map<string, Server>();
  private kube: FakeKubeApi | null = null;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly partitions: number,
  ) {}

  static async start(partitions = 12): Promise<FakePlatform> {
    const ref: { platform?: FakePlatform } = {};
    const { server, port } = await listenLoopback((req, res) => void ref.platform!.handle(req, res));
    ref.platform = new FakePlatform(server, `http://127.0.0.1:${port}`, partitions);
    return ref.platform;
  }

  /**
   * Hooks for `FakeKubeApi.start`: each router pod gets its own `/metrics` server (its
   * `containerPort`), closed when the pod is removed. Call `attach(kube)` once the fake exists.
   */
  podHooks(): Pick<FakeKubeOptions, 'onPodCreated' | 'onPodRemoved'> {
    return {
      onPodCreated: async (pod) => {
        const name = pod.metadata.name;
        const { server, port } = await listenLoopback((req, res) => {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
          res.end(`# TYPE kafka_consumer_assigned_partitions gauge\nkafka_consumer_assigned_partitions{topic="${ACCEPTED_TOPIC}"} ${this.share(name)}\n`);
        });
        this.podServers.set(name, server);
        const containers = (pod.spec as { containers: { ports?: { containerPort: number }[] }[] }).containers;
        containers[0]!.ports = [{ ...containers[0]!.ports?.[0], containerPort: port }];
      },
      onPodRemoved: (pod) => {
        const s = this.podServers.get(pod.metadata.name);
        this.podServers.delete(pod.metadata.name);
        if (s) void close(s);
      },
    };
  }

  attach(kube: FakeKubeApi): void {
    this.kube = kube;
  }

  async close(): Promise<void> {
    await Promise.all([...this.podServers.values()].map(close));
    this.podServers.clear();
    await close(this.server);
  }

  /** The partitions a ready router pod owns: an even spread over the ready router pods. */
  private share(pod: string): number {
    const ready = (this.kube?.podList('app.kubernetes.io/component=router') ?? [])
      .filter((p) => !(p.metadata as { deletionTimestamp?: string }).deletionTimestamp && (p.status as { phase?: string }).phase === 'Running')
      .map((p) => p.metadata.name);
    const i = ready.indexOf(pod);
    if (i < 0) return 0;
    return Math.floor(this.partitions / ready.length) + (i < this.partitions % ready.length ? 1 : 0);
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://fake');
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const body = req.method === 'POST' ? await readJson(req) : {};
    switch (`${req.method} ${url.pathname}`) {
      case 'POST /auth/register':
        return json(201, { user_id: randomUUID() });
      case 'POST /auth/token':
        return json(200, { access_token: `token-${String(body.username)}` });
      case 'POST /v1/users/me/identities':
        return json(201, { channel: body.channel, address: body.address });
      case 'POST /v1/conversations':
        return json(201, { conversation_id: randomUUID() });
      case 'POST /v1/messages': {
        this.accepted++;
        const at = new Date().toISOString();
        this.received.push({ channel: 'whatsapp', to: 'x', text: (body.payload as { text?: string } | undefined)?.text, at, index: this.received.length + 1 });
        return json(202, { message_id: body.message_id, accepted_at: at });
      }
      case 'GET /_sim/received': {
        const after = Number(url.searchParams.get('after') ?? 0);
        return json(200, { received: this.received.filter((r) => r.index > after).slice(0, 500), last_index: this.received.length });
      }
      case 'GET /_sim/stats':
        return json(200, { whatsapp: { requests: this.received.length, accepted: this.received.length, faults: { down: 0, error: 0 } } });
      case 'POST /_sim/faults':
        return json(200, { [String(body.channel)]: { down: body.down ?? false, error_rate: body.error_rate ?? 0 } });
      default:
        return json(404, { title: 'Not Found', status: 404 });
    }
  }
}
